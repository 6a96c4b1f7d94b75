;; Seeded schedules, a depth-2 bug (PCT's example): after 40 host calls,
;; sets the eventfd `flag` (non-blocking) to 1, makes one more host call,
;; and takes the 1 back. `seeded_window_check.wat` fails only when its one
;; look falls inside that window of two switch points: after the set,
;; before the take.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "flag")

  (func (export "_start")
    (local $flag i32) (local $i i32)
    (local.set $flag (call $preopen (i32.const 64) (i32.const 4)))
    (if (i32.lt_s (local.get $flag) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (loop $calls
      (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $calls (i32.lt_u (local.get $i) (i32.const 40))))
    (i64.store (i32.const 128) (i64.const 1))
    (drop (call $write (local.get $flag) (i32.const 128) (i32.const 8)))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
    ;; Takes the 1 back, unless the other guest took it (-EAGAIN then).
    (drop (call $read (local.get $flag) (i32.const 128) (i32.const 8))))
)
