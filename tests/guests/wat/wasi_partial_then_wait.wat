;; Writes `partial` to stdout with WASI preview 1 fd_write, with no newline
;; and no flush of any kind, then blocks reading the preopened eventfd `go`
;; (preview 1's fd_read on its fd). The runner must put `partial` out while the guest
;; waits: the test lets `go` be written only after it has seen `partial` on
;; stdout. Once woken it ends the line with ` then woken\n`.
;; Exit codes: 10 no eventfd `go`, 11 the read failed, 12 a write failed.
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "go")
  (data (i32.const 32) "partial")
  (data (i32.const 48) " then woken\n")

  ;; Writes memory[$ptr..$ptr+$len] to stdout (fd 1) in one fd_write.
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 256) (local.get $ptr))
    (i32.store (i32.const 260) (local.get $len))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264))
                (i32.const 0))
      (then (call $proc_exit (i32.const 12)))))

  (func (export "_start")
    (local $go i32)
    (local.set $go (call $preopen (i32.const 16) (i32.const 2)))
    (if (i32.lt_s (local.get $go) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (call $print (i32.const 32) (i32.const 7))
    ;; blocks (suspends this guest) until `go` is written
    ;; one iovec {buf 128, len 8} at 272; bytes read stored at 280
    (i32.store (i32.const 272) (i32.const 128))
    (i32.store (i32.const 276) (i32.const 8))
    (if (i32.ne (call $fd_read (local.get $go) (i32.const 272) (i32.const 1) (i32.const 280))
                (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    (call $print (i32.const 48) (i32.const 12)))
)
