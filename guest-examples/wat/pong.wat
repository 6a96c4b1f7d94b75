;; The `pong` half of the ping-pong example, as a core module: blocks
;; reading preopen `ping` and answers each ball (1) with a ball on preopen
;; `pong`, until it reads STOP (2). Pair it with the Rust `ping` component:
;;   wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wat ping.wasm
(module
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ping")
  (data (i32.const 24) "pong")

  ;; Exits with $code when $result is negative (an -errno).
  (func $ok (param $result i32) (param $code i32) (result i32)
    (if (i32.lt_s (local.get $result) (i32.const 0))
      (then (call $proc_exit (local.get $code))))
    (local.get $result))

  (func (export "_start")
    (local $ping i32) (local $pong i32)
    (local.set $ping (call $ok (call $preopen (i32.const 16) (i32.const 4)) (i32.const 10)))
    (local.set $pong (call $ok (call $preopen (i32.const 24) (i32.const 4)) (i32.const 11)))
    (loop $rounds
      ;; blocks (suspends this guest) until `ping` is written
      (drop (call $ok (call $read (local.get $ping) (i32.const 64) (i32.const 8)) (i32.const 12)))
      (if (i64.eq (i64.load (i32.const 64)) (i64.const 1))
        (then
          (i64.store (i32.const 64) (i64.const 1))
          (drop (call $ok (call $write (local.get $pong) (i32.const 64) (i32.const 8)) (i32.const 13)))
          (br $rounds))))
    ;; anything but a ball (STOP) ends the game
  )
)
