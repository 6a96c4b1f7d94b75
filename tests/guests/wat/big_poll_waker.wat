;; Wakes `big_poll.wat` 5 times: sleeps 100 ms (a `poll_oneoff` of one
;; relative monotonic clock), so that the poller is waiting on its 65536
;; subscriptions, then writes 1 to preopen `e` and blocks reading preopen
;; `ack` until the poller has seen it. Exits 0 after the last round, 10-13
;; on an error.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of the 8-byte value at 64; 8: the size a call returns;
  ;; 128: a clock subscription (48 bytes); 192: its event (32).
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "e")
  (data (i32.const 24) "ack")

  (func (export "_start")
    (local $e i32) (local $ack i32) (local $round i32)
    (local.set $e (call $preopen (i32.const 16) (i32.const 1)))
    (local.set $ack (call $preopen (i32.const 24) (i32.const 3)))
    (if (i32.or (i32.lt_s (local.get $e) (i32.const 0)) (i32.lt_s (local.get $ack) (i32.const 0)))
      (then (call $proc_exit (i32.const 10))))
    ;; tag clock (0), monotonic (1), 100 ms from now
    (i32.store8 (i32.const 136) (i32.const 0))
    (i32.store (i32.const 144) (i32.const 1))
    (i64.store (i32.const 152) (i64.const 100000000))
    (loop $rounds
      (if (i32.ne (call $poll_oneoff (i32.const 128) (i32.const 192) (i32.const 1) (i32.const 8)) (i32.const 0))
        (then (call $proc_exit (i32.const 11))))
      (i64.store (i32.const 64) (i64.const 1))
      (if (i32.ne (call $fd_write (local.get $e) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
        (then (call $proc_exit (i32.const 12))))
      (if (i32.ne (call $fd_read (local.get $ack) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
        (then (call $proc_exit (i32.const 13))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 5)))))
)
