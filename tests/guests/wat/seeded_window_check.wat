;; Seeded schedules: looks once at the eventfd `flag` (non-blocking read)
;; and exits with 1 if it found it set: `seeded_window_set.wat`'s window.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "flag")

  (func (export "_start")
    (local $flag i32)
    (local.set $flag (call $preopen (i32.const 64) (i32.const 4)))
    (if (i32.lt_s (local.get $flag) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (if (i32.eq (call $read (local.get $flag) (i32.const 128) (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 1)))))
)
