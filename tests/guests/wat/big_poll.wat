;; A hostile poller: 5 rounds of one `poll_oneoff` over 65536
;; subscriptions, every one `fd_read` on preopen `e`, without a clock.
;; Each round must report all 65536 ready, the last with its userdata and
;; no error; it then reads `e` and writes 1 to preopen `ack`, for
;; `big_poll_waker.wat`. Exits 0 after the last round, 11-14 on a wrong
;; result.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: an iovec of the 8-byte value at 64; 8: the size a call returns;
  ;; 65536 subscriptions of 48 bytes from 64 KiB on, then as many events
  ;; of 32 bytes: 81 pages in all.
  (memory (export "memory") 81)
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "e")
  (data (i32.const 24) "ack")
  (global $entries i32 (i32.const 65536))
  (global $subs i32 (i32.const 65536))
  (global $events i32 (i32.const 3211264))

  (func $check (param $result i32) (param $code i32)
    (if (i32.lt_s (local.get $result) (i32.const 0))
      (then (call $proc_exit (local.get $code)))))

  (func (export "_start")
    (local $e i32) (local $ack i32) (local $i i32) (local $sub i32) (local $last i32) (local $round i32)
    (local.set $e (call $preopen (i32.const 16) (i32.const 1)))
    (call $check (local.get $e) (i32.const 10))
    (local.set $ack (call $preopen (i32.const 24) (i32.const 3)))
    (call $check (local.get $ack) (i32.const 10))
    ;; Every subscription: userdata its index, fd_read on `e`.
    (loop $fill
      (local.set $sub (i32.add (global.get $subs) (i32.mul (local.get $i) (i32.const 48))))
      (i64.store (local.get $sub) (i64.extend_i32_u (local.get $i)))
      (i32.store8 (i32.add (local.get $sub) (i32.const 8)) (i32.const 1))
      (i32.store (i32.add (local.get $sub) (i32.const 16)) (local.get $e))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (global.get $entries))))
    (local.set $last
      (i32.add (global.get $events) (i32.mul (i32.sub (global.get $entries) (i32.const 1)) (i32.const 32))))
    (loop $rounds
      (i64.store (local.get $last) (i64.const 0))
      (if (i32.ne (call $poll_oneoff (global.get $subs) (global.get $events) (global.get $entries) (i32.const 8))
                  (i32.const 0))
        (then (call $proc_exit (i32.const 11))))
      (if (i32.ne (i32.load (i32.const 8)) (global.get $entries))
        (then (call $proc_exit (i32.const 11))))
      ;; The last event: its subscription's userdata, no error, fd_read.
      (if (i32.or (i64.ne (i64.load (local.get $last)) (i64.const 65535))
                  (i32.or (i32.ne (i32.load16_u (i32.add (local.get $last) (i32.const 8))) (i32.const 0))
                          (i32.ne (i32.load8_u (i32.add (local.get $last) (i32.const 10))) (i32.const 1))))
        (then (call $proc_exit (i32.const 12))))
      (if (i32.ne (call $fd_read (local.get $e) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
        (then (call $proc_exit (i32.const 13))))
      (i64.store (i32.const 64) (i64.const 1))
      (if (i32.ne (call $fd_write (local.get $ack) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
        (then (call $proc_exit (i32.const 14))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 5)))))
)
