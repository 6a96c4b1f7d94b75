;; The `pong` half of the ping-pong example, as a core module: blocks
;; reading preopen `ping` and answers each ball (1) with a ball on preopen
;; `pong`, until it reads STOP (2). Pair it with the Rust `ping` component:
;;   wasi-eventfd run --eventfd ping=0 --eventfd pong=0 --with pong.wat ping.wasm
;; The eventfds are ordinary preview 1 fds: `fd_read` and `fd_write` of 8
;; bytes, as C's `read` and `write` make them.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec of the 8-byte value at 64; 8: the size a call returns.
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (data (i32.const 16) "ping")
  (data (i32.const 24) "pong")

  ;; Exits with $code when $fd is negative (an -errno).
  (func $fd (param $fd i32) (param $code i32) (result i32)
    (if (i32.lt_s (local.get $fd) (i32.const 0))
      (then (call $proc_exit (local.get $code))))
    (local.get $fd))

  ;; Exits with $code unless $errno is 0 (preview 1's success).
  (func $ok (param $errno i32) (param $code i32)
    (if (i32.ne (local.get $errno) (i32.const 0))
      (then (call $proc_exit (local.get $code)))))

  (func (export "_start")
    (local $ping i32) (local $pong i32)
    (local.set $ping (call $fd (call $preopen (i32.const 16) (i32.const 4)) (i32.const 10)))
    (local.set $pong (call $fd (call $preopen (i32.const 24) (i32.const 4)) (i32.const 11)))
    (loop $rounds
      ;; blocks (suspends this guest) until `ping` is written
      (call $ok (call $fd_read (local.get $ping) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 12))
      (if (i64.eq (i64.load (i32.const 64)) (i64.const 1))
        (then
          (i64.store (i32.const 64) (i64.const 1))
          (call $ok (call $fd_write (local.get $pong) (i32.const 0) (i32.const 1) (i32.const 8)) (i32.const 13))
          (br $rounds))))
    ;; anything but a ball (STOP) ends the game
  )
)
