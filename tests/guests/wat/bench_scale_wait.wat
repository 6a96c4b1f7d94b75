;; Benchmark guest (core module) for the scale rows: posts 1 to preopen
;; `ready`, blocks reading preopen `go` (a semaphore eventfd shared by
;; thousands of these), then posts 1 to preopen `done` and ends; the
;; component `bench_scale_waker` times them (as bench_scale_wait.rs).
(module
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ready")
  (data (i32.const 24) "go")
  (data (i32.const 32) "done")
  (func $post (param $fd i32)
    (i64.store (i32.const 72) (i64.const 1))
    (if (i32.ne (call $write (local.get $fd) (i32.const 72) (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 11)))))
  (func (export "_start")
    (call $post (call $preopen (i32.const 16) (i32.const 5)))
    (if (i32.ne (call $read (call $preopen (i32.const 24) (i32.const 2)) (i32.const 64) (i32.const 8))
                (i32.const 8))
      (then (call $proc_exit (i32.const 10))))
    (call $post (call $preopen (i32.const 32) (i32.const 4))))
)
