;; A hostile poller: 5 rounds of one `poll` over 65536 `struct pollfd`
;; entries (the ABI's most), every one POLLIN on preopen `e`, timeout -1.
;; Each round must report all 65536 entries ready with revents POLLIN; it
;; then reads `e` and writes 1 to preopen `ack`, for `big_poll_waker.wat`.
;; Exits 0 after the last round, 11-14 on a wrong result.
(module
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 65536 entries of 8 bytes from 64 KiB on: 9 pages in all.
  (memory (export "memory") 9)
  (data (i32.const 16) "e")
  (data (i32.const 24) "ack")
  (global $entries i32 (i32.const 65536))
  (global $base i32 (i32.const 65536))

  (func $check (param $result i32) (param $code i32)
    (if (i32.lt_s (local.get $result) (i32.const 0))
      (then (call $proc_exit (local.get $code)))))

  (func (export "_start")
    (local $e i32) (local $ack i32) (local $i i32) (local $round i32)
    (local.set $e (call $preopen (i32.const 16) (i32.const 1)))
    (call $check (local.get $e) (i32.const 10))
    (local.set $ack (call $preopen (i32.const 24) (i32.const 3)))
    (call $check (local.get $ack) (i32.const 10))
    (loop $rounds
      ;; Every entry: fd `e`, events POLLIN, revents cleared.
      (local.set $i (i32.const 0))
      (loop $fill
        (i32.store (i32.add (global.get $base) (i32.shl (local.get $i) (i32.const 3))) (local.get $e))
        (i32.store (i32.add (global.get $base) (i32.add (i32.shl (local.get $i) (i32.const 3)) (i32.const 4)))
          (i32.const 1))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $fill (i32.lt_u (local.get $i) (global.get $entries))))
      (if (i32.ne (call $poll (global.get $base) (global.get $entries) (i32.const -1))
                  (global.get $entries))
        (then (call $proc_exit (i32.const 11))))
      ;; The last entry's revents is POLLIN.
      (if (i32.ne (i32.load16_s (i32.add (global.get $base)
                    (i32.add (i32.shl (i32.sub (global.get $entries) (i32.const 1)) (i32.const 3)) (i32.const 6))))
                  (i32.const 1))
        (then (call $proc_exit (i32.const 12))))
      (if (i32.ne (call $read (local.get $e) (i32.const 64) (i32.const 8)) (i32.const 8))
        (then (call $proc_exit (i32.const 13))))
      (i64.store (i32.const 64) (i64.const 1))
      (if (i32.ne (call $write (local.get $ack) (i32.const 64) (i32.const 8)) (i32.const 8))
        (then (call $proc_exit (i32.const 14))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 5)))))
)
