;; Seeded schedules: takes tokens from the semaphore eventfd `tokens`
;; (non-blocking) one read at a time until none is left (-EAGAIN), then
;; prints `NAME took N` (NAME is argv[1]). Copies race for the tokens.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "tokens")
  (data (i32.const 80) " took ")

  (func $name_len (param $p i32) (result i32)
    (local $n i32)
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $scan)))
    (local.get $n))

  (func (export "_start")
    (local $fd i32) (local $got i32) (local $r i32)
    (local $name i32) (local $len i32) (local $at i32)
    (local.set $fd (call $preopen (i32.const 64) (i32.const 6)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 10))))
    (block $empty
      (loop $take
        (local.set $r (call $read (local.get $fd) (i32.const 128) (i32.const 8)))
        (br_if $empty (i32.eq (local.get $r) (i32.const -11)))
        (if (i32.lt_s (local.get $r) (i32.const 0)) (then (call $proc_exit (i32.const 11))))
        (local.set $got (i32.add (local.get $got) (i32.const 1)))
        (br $take)))
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 256) (i32.const 512)))
    (local.set $name (i32.load (i32.const 260)))
    (local.set $len (call $name_len (local.get $name)))
    (memory.copy (i32.const 2048) (local.get $name) (local.get $len))
    (local.set $at (i32.add (i32.const 2048) (local.get $len)))
    (memory.copy (local.get $at) (i32.const 80) (i32.const 6))
    (local.set $at (i32.add (local.get $at) (i32.const 6)))
    (i32.store8 (local.get $at)
      (i32.add (i32.const 48) (i32.div_u (local.get $got) (i32.const 10))))
    (i32.store8 (i32.add (local.get $at) (i32.const 1))
      (i32.add (i32.const 48) (i32.rem_u (local.get $got) (i32.const 10))))
    (i32.store8 (i32.add (local.get $at) (i32.const 2)) (i32.const 10))
    (i32.store (i32.const 8) (i32.const 2048))
    (i32.store (i32.const 12) (i32.add (local.get $len) (i32.const 9)))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
)
