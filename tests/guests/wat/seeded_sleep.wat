;; Seeded schedules: sleeps 60 s (preview 1 `poll_oneoff` on one relative
;; clock), then prints `slept 60 s` if the monotonic clock says at least
;; that much passed, `woke early` otherwise.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 512) "slept 60 s\0a")
  (data (i32.const 544) "woke early\0a")

  (func (export "_start")
    (local $before i64)
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
    (local.set $before (i64.load (i32.const 0)))
    ;; subscription at 64: userdata, tag 0 (clock), id monotonic (1),
    ;; timeout 60 s in ns, precision 0, flags 0 (relative)
    (i64.store (i32.const 64) (i64.const 7))
    (i32.store8 (i32.const 72) (i32.const 0))
    (i32.store (i32.const 80) (i32.const 1))
    (i64.store (i32.const 88) (i64.const 60000000000))
    (i64.store (i32.const 96) (i64.const 0))
    (i32.store16 (i32.const 104) (i32.const 0))
    (drop (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 8)))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 544))
    (if (i64.ge_u (i64.sub (i64.load (i32.const 0)) (local.get $before)) (i64.const 60000000000))
      (then (i32.store (i32.const 16) (i32.const 512))))
    (i32.store (i32.const 20) (i32.const 11))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24))))
)
