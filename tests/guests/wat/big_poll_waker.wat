;; Wakes `big_poll.wat` 5 times: sleeps 100 ms (a `poll` of no entries with
;; a timeout), so that the poller is waiting on its 65536 entries, then
;; writes 1 to preopen `e` and blocks reading preopen `ack` until the
;; poller has seen it. Exits 0 after the last round, 10-13 on an error.
(module
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "e")
  (data (i32.const 24) "ack")

  (func (export "_start")
    (local $e i32) (local $ack i32) (local $round i32)
    (local.set $e (call $preopen (i32.const 16) (i32.const 1)))
    (local.set $ack (call $preopen (i32.const 24) (i32.const 3)))
    (if (i32.or (i32.lt_s (local.get $e) (i32.const 0)) (i32.lt_s (local.get $ack) (i32.const 0)))
      (then (call $proc_exit (i32.const 10))))
    (loop $rounds
      (if (i32.ne (call $poll (i32.const 128) (i32.const 0) (i32.const 100)) (i32.const 0))
        (then (call $proc_exit (i32.const 11))))
      (i64.store (i32.const 64) (i64.const 1))
      (if (i32.ne (call $write (local.get $e) (i32.const 64) (i32.const 8)) (i32.const 8))
        (then (call $proc_exit (i32.const 12))))
      (if (i32.ne (call $read (local.get $ack) (i32.const 64) (i32.const 8)) (i32.const 8))
        (then (call $proc_exit (i32.const 13))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 5)))))
)
