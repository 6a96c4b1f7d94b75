;; Benchmark guest (core module): blocks reading preopen `go` once with
;; preview 1's `fd_read`, then ends. Thousands of these wait on one
;; semaphore eventfd in the scale row.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: bytes read; 16: "go"; 56: an iovec of the value read; 64: the value.
  (memory (export "memory") 1)
  (data (i32.const 16) "go")
  (data (i32.const 56) "\40\00\00\00\08\00\00\00")
  (func (export "_start")
    (if (i32.ne (call $fd_read (call $preopen (i32.const 16) (i32.const 2))
                  (i32.const 56) (i32.const 1) (i32.const 0))
                (i32.const 0))
      (then (call $proc_exit (i32.const 10)))))
)
