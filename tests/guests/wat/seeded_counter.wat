;; Seeded schedules, a lost update: `seeded_counter.wat inc` adds 1 five
;; times to the 8-byte little-endian counter in the file `count` of the
;; first preopened directory (fd 3), each time reading it (fd_pread) and
;; writing it back (fd_pwrite) as two host calls, then posts 1 to the
;; semaphore eventfd `done`. `seeded_counter.wat check` waits for two posts,
;; reads the counter, sets it back to 0 for the next run, and exits with 1,
;; saying `lost updates: N of 10`, unless it is 10.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pread" (func $fd_pread (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $fd_pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "count")
  (data (i32.const 72) "done")
  (data (i32.const 80) "lost updates: ")

  (global $file (mut i32) (i32.const 0))

  ;; The counter, read into 128.
  (func $load (result i64)
    (i32.store (i32.const 32) (i32.const 128))
    (i32.store (i32.const 36) (i32.const 8))
    (if (call $fd_pread (global.get $file) (i32.const 32) (i32.const 1) (i64.const 0) (i32.const 40))
      (then (call $proc_exit (i32.const 11))))
    (i64.load (i32.const 128)))

  (func $store (param $value i64)
    (i64.store (i32.const 128) (local.get $value))
    (i32.store (i32.const 32) (i32.const 128))
    (i32.store (i32.const 36) (i32.const 8))
    (if (call $fd_pwrite (global.get $file) (i32.const 32) (i32.const 1) (i64.const 0) (i32.const 40))
      (then (call $proc_exit (i32.const 12)))))

  (func (export "_start")
    (local $done i32) (local $i i32) (local $value i64)
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.const 5) (i32.const 0)
          (i64.const 0x1fffffff) (i64.const 0x1fffffff) (i32.const 0) (i32.const 44))
      (then (call $proc_exit (i32.const 10))))
    (global.set $file (i32.load (i32.const 44)))
    (local.set $done (call $preopen (i32.const 72) (i32.const 4)))
    (if (i32.lt_s (local.get $done) (i32.const 0)) (then (call $proc_exit (i32.const 13))))
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 256) (i32.const 512)))
    ;; argv[1] begins with `i` (inc) or `c` (check)
    (if (i32.eq (i32.load8_u (i32.load (i32.const 260))) (i32.const 105))
      (then
        (loop $incs
          (call $store (i64.add (call $load) (i64.const 1)))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $incs (i32.lt_u (local.get $i) (i32.const 5))))
        (i64.store (i32.const 136) (i64.const 1))
        (drop (call $write (local.get $done) (i32.const 136) (i32.const 8)))
        (return)))
    (drop (call $read (local.get $done) (i32.const 136) (i32.const 8)))
    (drop (call $read (local.get $done) (i32.const 136) (i32.const 8)))
    (local.set $value (call $load))
    (call $store (i64.const 0))
    (if (i64.ne (local.get $value) (i64.const 10))
      (then
        ;; `lost updates: N of 10` with N = 10 - value (one digit)
        (memory.copy (i32.const 2048) (i32.const 80) (i32.const 14))
        (i32.store8 (i32.const 2062)
          (i32.add (i32.const 48) (i32.wrap_i64 (i64.sub (i64.const 10) (local.get $value)))))
        (i64.store (i32.const 2063) (i64.const 0x0a303120666f20))
        (i32.store (i32.const 8) (i32.const 2048))
        (i32.store (i32.const 12) (i32.const 22))
        (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
        (call $proc_exit (i32.const 1)))))
)
