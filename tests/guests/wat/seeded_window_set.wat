;; Seeded schedules, a depth-2 bug (PCT's example): after 40 host calls,
;; sets the eventfd `flag` (non-blocking) to 1, makes one more host call,
;; and takes the 1 back. `seeded_window_check.wat` fails only when its one
;; look falls inside that window of two switch points: after the set,
;; before the take.
(module
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
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
  ;; write(fd, buf, len) over preview 1's fd_write (one iovec at 65000):
  ;; the bytes written, or -errno (WASI's numbers).
  (func $write (param $fd i32) (param $buf i32) (param $len i32) (result i32)
    (local $e i32)
    (i32.store (i32.const 65000) (local.get $buf))
    (i32.store (i32.const 65004) (local.get $len))
    (local.set $e (call $fd_write (local.get $fd) (i32.const 65000) (i32.const 1) (i32.const 65008)))
    (if (result i32) (local.get $e)
      (then (i32.sub (i32.const 0) (local.get $e)))
      (else (i32.load (i32.const 65008)))))
  (data (i32.const 64) "flag")

  (func (export "_start")
    (local $flag i32) (local $i i32)
    (local.set $flag (call $preopen (i32.const 64) (i32.const 4)))
    (if (i32.lt_s (local.get $flag) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (loop $calls
      (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $calls (i32.lt_u (local.get $i) (i32.const 40))))
    (i64.store (i32.const 128) (i64.const 1))
    (drop (call $write (local.get $flag) (i32.const 128) (i32.const 8)))
    (drop (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 0)))
    ;; Takes the 1 back, unless the other guest took it (-EAGAIN then).
    (drop (call $read (local.get $flag) (i32.const 128) (i32.const 8))))
)
