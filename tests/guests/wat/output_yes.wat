;; `yes` for WASI preview 1: writes `y\n` to stdout with fd_write, one line
;; per call, until a write fails, then exits with that write's errno (so a
;; runner that hides a closed or full stdout from its guest keeps it
;; writing forever). Exits 0 only if fd_write ever reports fewer bytes than
;; asked, which it must not.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "y\n")
  (func (export "_start") (local $errno i32)
    ;; One iovec at 0: the 2-byte line; bytes written go to 8.
    (i32.store (i32.const 0) (i32.const 100))
    (i32.store (i32.const 4) (i32.const 2))
    (loop $more
      (local.set $errno
        (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
      (if (local.get $errno) (then (call $proc_exit (local.get $errno))))
      (br_if $more (i32.eq (i32.load (i32.const 8)) (i32.const 2))))))
