;; Waits for input on stdin (one WASI preview 1 fd_read, which blocks until
;; bytes arrive), then writes 1 to the preopened eventfd `go` and prints
;; `go written\n`. The test sends the input only once it has seen what the
;; other guest printed before it started waiting on `go`.
;; Exit codes: 10 no eventfd `go`, 11 stdin failed or was empty, 12 the
;; eventfd write failed, 13 a stdout write failed.
(module
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "go")
  (data (i32.const 32) "go written\n")

  (func (export "_start")
    (local $go i32)
    (local.set $go (call $preopen (i32.const 16) (i32.const 2)))
    (if (i32.lt_s (local.get $go) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    ;; one iovec {buf 1024, len 512} at 256; bytes read stored at 264
    (i32.store (i32.const 256) (i32.const 1024))
    (i32.store (i32.const 260) (i32.const 512))
    (if (i32.ne (call $fd_read (i32.const 0) (i32.const 256) (i32.const 1) (i32.const 264))
                (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    (if (i32.eqz (i32.load (i32.const 264))) (then (call $proc_exit (i32.const 11))))
    ;; write(go, 1): one iovec {buf 128, len 8}
    (i64.store (i32.const 128) (i64.const 1))
    (i32.store (i32.const 256) (i32.const 128))
    (i32.store (i32.const 260) (i32.const 8))
    (if (i32.ne (call $fd_write (local.get $go) (i32.const 256) (i32.const 1) (i32.const 264))
                (i32.const 0))
      (then (call $proc_exit (i32.const 12))))
    (i32.store (i32.const 256) (i32.const 32))
    (i32.store (i32.const 260) (i32.const 11))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264))
                (i32.const 0))
      (then (call $proc_exit (i32.const 13)))))
)
