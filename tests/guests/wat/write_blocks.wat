;; Writes 1 to preopen `full` (blocking): the test fills it first, so the
;; write waits until the host reads.
(module
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "full")
  (func (export "_start")
    (local $fd i32)
    (local.set $fd (call $preopen (i32.const 16) (i32.const 4)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (i64.store (i32.const 64) (i64.const 1))
    (if (i32.ne (call $write (local.get $fd) (i32.const 64) (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 11)))))
)
