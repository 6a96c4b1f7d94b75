;; Seeded schedules: two "locks" as semaphore eventfds of count 1, taken in
;; the order argv[1] then argv[2] (each a one-letter eventfd name, `a` or
;; `b`): take the first (a blocking read), say so, take the second, then
;; give both back. Two copies taking them in opposite orders deadlock when
;; each holds its first lock.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "holds X\0a")
  (data (i32.const 80) "done\0a")

  (func $ok (param $r i32) (result i32)
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (local.get $r))

  (func $say (param $at i32) (param $len i32)
    (i32.store (i32.const 8) (local.get $at))
    (i32.store (i32.const 12) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))

  (func (export "_start")
    (local $first i32) (local $second i32) (local $first_name i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 256) (i32.const 512)))
    (local.set $first_name (i32.load (i32.const 260)))
    (local.set $first (call $ok (call $preopen (local.get $first_name) (i32.const 1))))
    (local.set $second (call $ok (call $preopen (i32.load (i32.const 264)) (i32.const 1))))
    (drop (call $ok (call $read (local.get $first) (i32.const 128) (i32.const 8))))
    (i32.store8 (i32.const 70) (i32.load8_u (local.get $first_name)))
    (call $say (i32.const 64) (i32.const 8))
    (drop (call $ok (call $read (local.get $second) (i32.const 128) (i32.const 8))))
    (i64.store (i32.const 128) (i64.const 1))
    (drop (call $ok (call $write (local.get $second) (i32.const 128) (i32.const 8))))
    (drop (call $ok (call $write (local.get $first) (i32.const 128) (i32.const 8))))
    (call $say (i32.const 80) (i32.const 5)))
)
