;; Benchmark guest (core module) for the in-process op-pair row: times N
;; non-blocking write(1) + read() pairs on an eventfd through preview 1's
;; `fd_write` and `fd_read` (the eventfd an ordinary fd of the one table),
;; N from the preopen `pairs` (its count, read with `fd_read`), and writes
;; the elapsed nanoseconds to preopen `result` with `fd_write`.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: bytes written or read; 16: "result"; 32: "pairs"; 48: an iovec of
  ;; the value written; 56: an iovec of the value read; 64: the value read;
  ;; 72: the value written; 96: the clock.
  (memory (export "memory") 1)
  (data (i32.const 16) "result")
  (data (i32.const 32) "pairs")
  (data (i32.const 48) "\48\00\00\00\08\00\00\00")
  (data (i32.const 56) "\40\00\00\00\08\00\00\00")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 96)))
    (i64.load (i32.const 96)))
  (func (export "_start")
    (local $fd i32) (local $n i64) (local $start i64) (local $pairs i32)
    (local.set $pairs (call $preopen (i32.const 32) (i32.const 5)))
    (if (i32.lt_s (local.get $pairs) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (if (i32.ne (call $fd_read (local.get $pairs) (i32.const 56) (i32.const 1) (i32.const 0))
                (i32.const 0))
      (then (call $proc_exit (i32.const 10))))
    (local.set $n (i64.load (i32.const 64)))
    ;; eventfd(0, EFD_NONBLOCK)
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x800)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 14))))
    (i64.store (i32.const 72) (i64.const 1))
    (local.set $start (call $now))
    (block $done
      (loop $pair
        (br_if $done (i64.eqz (local.get $n)))
        (if (i32.or (i32.ne (call $fd_write (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 0))
                            (i32.const 0))
                    (i32.ne (i32.load (i32.const 0)) (i32.const 8)))
          (then (call $proc_exit (i32.const 11))))
        (if (i32.or (i32.ne (call $fd_read (local.get $fd) (i32.const 56) (i32.const 1) (i32.const 0))
                            (i32.const 0))
                    (i64.ne (i64.load (i32.const 64)) (i64.const 1)))
          (then (call $proc_exit (i32.const 12))))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $pair)))
    (i64.store (i32.const 72) (i64.sub (call $now) (local.get $start)))
    (if (i32.ne (call $fd_write (call $preopen (i32.const 16) (i32.const 6))
                  (i32.const 48) (i32.const 1) (i32.const 0))
                (i32.const 0))
      (then (call $proc_exit (i32.const 13)))))
)
