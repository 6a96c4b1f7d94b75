;; Seeded schedules: looks once at the eventfd `flag` (non-blocking read)
;; and exits with 1 if it found it set: `seeded_window_set.wat`'s window.
(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; read(fd, buf, len) over preview 1's fd_read (one iovec at 65000):
  ;; the bytes read, or -errno (WASI's numbers).
  (func $read (param $fd i32) (param $buf i32) (param $len i32) (result i32)
    (local $e i32)
    (i32.store (i32.const 65000) (local.get $buf))
    (i32.store (i32.const 65004) (local.get $len))
    (local.set $e (call $fd_read (local.get $fd) (i32.const 65000) (i32.const 1) (i32.const 65008)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.load (i32.const 65008)))))
  (data (i32.const 64) "flag")

  (func (export "_start")
    (local $flag i32)
    (local.set $flag (call $preopen (i32.const 64) (i32.const 4)))
    (if (i32.lt_s (local.get $flag) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (if (i32.eq (call $read (local.get $flag) (i32.const 128) (i32.const 8)) (i32.const 8))
      (then (call $proc_exit (i32.const 1)))))
)
