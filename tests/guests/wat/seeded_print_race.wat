;; Seeded schedules: prints `NAME NN` for NN from 00 to 19, NAME being
;; argv[1], each line in one fd_write. Copies with different names race to
;; print: their lines interleave as the schedule says.
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; argv pointers at 256, their strings at 512; the line is built at 2048.
  (func $name_len (param $p i32) (result i32)
    (local $n i32)
    (block $end
      (loop $scan
        (br_if $end (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $scan)))
    (local.get $n))

  (func (export "_start")
    (local $name i32) (local $len i32) (local $i i32) (local $at i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $args_get (i32.const 256) (i32.const 512)))
    (local.set $name (i32.load (i32.const 260)))
    (local.set $len (call $name_len (local.get $name)))
    (memory.copy (i32.const 2048) (local.get $name) (local.get $len))
    (local.set $at (i32.add (i32.const 2048) (local.get $len)))
    (i32.store8 (local.get $at) (i32.const 32))
    (loop $lines
      (i32.store8 (i32.add (local.get $at) (i32.const 1))
        (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 10))))
      (i32.store8 (i32.add (local.get $at) (i32.const 2))
        (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
      (i32.store8 (i32.add (local.get $at) (i32.const 3)) (i32.const 10))
      (i32.store (i32.const 8) (i32.const 2048))
      (i32.store (i32.const 12) (i32.add (local.get $len) (i32.const 4)))
      (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $lines (i32.lt_u (local.get $i) (i32.const 20)))))
)
