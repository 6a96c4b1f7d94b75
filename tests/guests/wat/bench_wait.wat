;; Benchmark guest (core module): blocks reading preopen `go` once, then
;; ends. Thousands of these wait on one semaphore eventfd in the scale row.
(module
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "go")
  (func (export "_start")
    (if (i32.ne (call $read (call $preopen (i32.const 16) (i32.const 2)) (i32.const 64) (i32.const 8))
                (i32.const 8))
      (then (call $proc_exit (i32.const 10)))))
)
