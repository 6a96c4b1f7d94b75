;; Writes 1 to preopen `full` with preview 1's `fd_write` (blocking): the
;; test fills it first, so the write waits until the host reads.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of the 8-byte value at 64; 8: the size written.
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "full")
  (func (export "_start")
    (local $fd i32)
    (local.set $fd (call $preopen (i32.const 16) (i32.const 4)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (i64.store (i32.const 64) (i64.const 1))
    (if (i32.ne (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    (if (i32.ne (i32.load (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 12)))))
)
