;; Reads preopen `e` with preview 1's `fd_read` into a buffer that runs
;; past the end of memory (its last 4 bytes and 4 beyond): wasmtime-wasi's
;; preview 1 stops the guest with an error for a buffer outside memory,
;; and the read must consume nothing first. Exits 10 without `e`, 11 if
;; the read returned.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec {buf 65532, len 8}; 8: the size read.
  (data (i32.const 0) "\fc\ff\00\00\08\00\00\00")
  (data (i32.const 16) "e")
  (func (export "_start")
    (local $e i32)
    (local.set $e (call $preopen (i32.const 16) (i32.const 1)))
    (if (i32.lt_s (local.get $e) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (drop (call $fd_read (local.get $e) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.const 11)))
)
