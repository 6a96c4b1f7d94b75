;; Benchmark guest (core module) for the scale rows: posts 1 to preopen
;; `ready`, blocks reading preopen `go` (a semaphore eventfd shared by
;; thousands of these), then posts 1 to preopen `done` and ends, all with
;; preview 1's `fd_write` and `fd_read`; the component `bench_scale_waker`
;; times them (as bench_scale_wait.rs).
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: bytes written or read; 16: "ready"; 24: "go"; 32: "done"; 48: an
  ;; iovec of the value written; 56: an iovec of the value read; 64: the
  ;; value read; 72: the value written (1).
  (memory (export "memory") 1)
  (data (i32.const 16) "ready")
  (data (i32.const 24) "go")
  (data (i32.const 32) "done")
  (data (i32.const 48) "\48\00\00\00\08\00\00\00")
  (data (i32.const 56) "\40\00\00\00\08\00\00\00")
  (data (i32.const 72) "\01\00\00\00\00\00\00\00")
  (func $post (param $fd i32)
    (if (i32.ne (call $fd_write (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 0))
                (i32.const 0))
      (then (call $proc_exit (i32.const 11)))))
  (func (export "_start")
    (call $post (call $preopen (i32.const 16) (i32.const 5)))
    (if (i32.ne (call $fd_read (call $preopen (i32.const 24) (i32.const 2))
                  (i32.const 56) (i32.const 1) (i32.const 0))
                (i32.const 0))
      (then (call $proc_exit (i32.const 10))))
    (call $post (call $preopen (i32.const 32) (i32.const 4))))
)
