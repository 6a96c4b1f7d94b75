;; The integer-fd eventfd ABI by hand: create, write, poll, read, dup, fcntl,
;; close. Run it with:
;;   wasi-eventfd run guest-examples/wat/eventfd-basics.wat
;; Every step checks its result; a wrong one exits with the step's number.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "close" (func $close (param i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_eventfd" "fcntl" (func $fcntl (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  ;; 64: the 8-byte value buffer; 128: one struct pollfd; 192: an iovec
  (data (i32.const 256) "eventfd-basics: ok\n")

  ;; Exits with code $step unless $actual equals $expected.
  (func $check (param $step i32) (param $actual i32) (param $expected i32)
    (if (i32.ne (local.get $actual) (local.get $expected))
      (then (call $proc_exit (local.get $step)))))

  (func (export "_start")
    (local $fd i32) (local $dup i32)
    ;; eventfd(0, EFD_NONBLOCK): the first fd is 0
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x800)))
    (call $check (i32.const 1) (local.get $fd) (i32.const 0))
    ;; reading 0 from a non-blocking eventfd: -EAGAIN
    (call $check (i32.const 2) (call $read (local.get $fd) (i32.const 64) (i32.const 8)) (i32.const -11))
    ;; write(5)
    (i64.store (i32.const 64) (i64.const 5))
    (call $check (i32.const 3) (call $write (local.get $fd) (i32.const 64) (i32.const 8)) (i32.const 8))
    ;; poll({fd, POLLIN|POLLOUT}, 1, 0): one entry ready with POLLIN|POLLOUT
    (i32.store (i32.const 128) (local.get $fd))
    (i32.store16 (i32.const 132) (i32.const 5))
    (call $check (i32.const 4) (call $poll (i32.const 128) (i32.const 1) (i32.const 0)) (i32.const 1))
    (call $check (i32.const 5) (i32.load16_s (i32.const 134)) (i32.const 5))
    ;; read: 8 bytes, the value 5, and the counter is back to 0
    (i64.store (i32.const 64) (i64.const 0))
    (call $check (i32.const 6) (call $read (local.get $fd) (i32.const 64) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 7) (i32.wrap_i64 (i64.load (i32.const 64))) (i32.const 5))
    ;; dup: the lowest free number (1), close-on-exec clear
    (local.set $dup (call $dup (local.get $fd)))
    (call $check (i32.const 8) (local.get $dup) (i32.const 1))
    (call $check (i32.const 9) (call $fcntl (local.get $dup) (i32.const 1) (i32.const 0)) (i32.const 0))
    ;; F_GETFL: O_RDWR|O_NONBLOCK; F_SETFL through the dup clears it for both
    (call $check (i32.const 10) (call $fcntl (local.get $fd) (i32.const 3) (i32.const 0)) (i32.const 0x802))
    (call $check (i32.const 11) (call $fcntl (local.get $dup) (i32.const 4) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 12) (call $fcntl (local.get $fd) (i32.const 3) (i32.const 0)) (i32.const 2))
    ;; close, and a second close of the same number: -EBADF
    (call $check (i32.const 13) (call $close (local.get $fd)) (i32.const 0))
    (call $check (i32.const 14) (call $close (local.get $fd)) (i32.const -9))
    ;; the dup still reaches the description
    (i64.store (i32.const 64) (i64.const 7))
    (call $check (i32.const 15) (call $write (local.get $dup) (i32.const 64) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 16) (call $close (local.get $dup)) (i32.const 0))

    ;; print the message: iovec {256, 19} at 192, bytes written at 200
    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 19))
    (drop (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200))))
)
