;; Seeded schedules: prints 16 bytes of preview 1 `random_get` in hex.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 32) "0123456789abcdef")

  (func (export "_start")
    (local $i i32) (local $byte i32)
    (drop (call $random_get (i32.const 64) (i32.const 16)))
    (loop $hex
      (local.set $byte (i32.load8_u (i32.add (i32.const 64) (local.get $i))))
      (i32.store8 (i32.add (i32.const 128) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 32) (i32.shr_u (local.get $byte) (i32.const 4)))))
      (i32.store8 (i32.add (i32.const 129) (i32.shl (local.get $i) (i32.const 1)))
        (i32.load8_u (i32.add (i32.const 32) (i32.and (local.get $byte) (i32.const 15)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $hex (i32.lt_u (local.get $i) (i32.const 16))))
    (i32.store8 (i32.const 160) (i32.const 10))
    (i32.store (i32.const 8) (i32.const 128))
    (i32.store (i32.const 12) (i32.const 33))
    (drop (call $fd_write (i32.const 1) (i32.const 8) (i32.const 1) (i32.const 16))))
)
