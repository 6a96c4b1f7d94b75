;; Every error path of the integer-fd eventfd ABI: bad flags, short and long
;; buffers, bad pointers, bad fds, bad fcntl commands, poll's POLLNVAL,
;; unknown preopens. Run it with:
;;   wasi-eventfd run guest-examples/wat/eventfd-errors.wat
;; A wrong result exits with the number of the check that failed.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "close" (func $close (param i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_eventfd" "fcntl" (func $fcntl (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "poll" (func $poll (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 256) "eventfd-errors: ok\n")
  (data (i32.const 320) "no-such-eventfd")

  (func $check (param $step i32) (param $actual i32) (param $expected i32)
    (if (i32.ne (local.get $actual) (local.get $expected))
      (then (call $proc_exit (local.get $step)))))

  (func $write_value (param $fd i32) (param $value i64) (result i32)
    (i64.store (i32.const 64) (local.get $value))
    (call $write (local.get $fd) (i32.const 64) (i32.const 8)))

  (func (export "_start")
    (local $fd i32) (local $sem i32)
    ;; unknown flag bits: -EINVAL, and no fd is used up
    (call $check (i32.const 1) (call $eventfd (i32.const 0) (i32.const 2)) (i32.const -22))
    (call $check (i32.const 2) (call $eventfd (i32.const 0) (i32.const 0x40000000)) (i32.const -22))
    ;; EFD_NONBLOCK|EFD_CLOEXEC: fd 3 (after stdio), with close-on-exec set
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x80800)))
    (call $check (i32.const 3) (local.get $fd) (i32.const 3))
    (call $check (i32.const 4) (call $fcntl (local.get $fd) (i32.const 1) (i32.const 0)) (i32.const 1))

    ;; read: short buffer -EINVAL; bad fds -EBADF
    (call $check (i32.const 5) (call $read (local.get $fd) (i32.const 64) (i32.const 7)) (i32.const -22))
    (call $check (i32.const 6) (call $read (i32.const 99) (i32.const 64) (i32.const 8)) (i32.const -9))
    (call $check (i32.const 7) (call $read (i32.const -1) (i32.const 64) (i32.const 8)) (i32.const -9))
    ;; a buffer outside memory: -EFAULT, and the count is not consumed
    (call $check (i32.const 8) (call $write_value (local.get $fd) (i64.const 3)) (i32.const 8))
    (call $check (i32.const 9) (call $read (local.get $fd) (i32.const 65532) (i32.const 8)) (i32.const -14))
    (call $check (i32.const 10) (call $read (local.get $fd) (i32.const -8) (i32.const 8)) (i32.const -14))
    ;; a 16-byte buffer: returns 8, writes the first 8 bytes only
    (i64.store (i32.const 72) (i64.const 0x5a5a5a5a))
    (call $check (i32.const 11) (call $read (local.get $fd) (i32.const 64) (i32.const 16)) (i32.const 8))
    (call $check (i32.const 12) (i32.wrap_i64 (i64.load (i32.const 64))) (i32.const 3))
    (call $check (i32.const 13) (i32.wrap_i64 (i64.load (i32.const 72))) (i32.const 0x5a5a5a5a))

    ;; write: a length other than 8 -EINVAL; bad pointer -EFAULT; u64::MAX -EINVAL
    (call $check (i32.const 14) (call $write (local.get $fd) (i32.const 64) (i32.const 7)) (i32.const -22))
    (call $check (i32.const 15) (call $write (local.get $fd) (i32.const 64) (i32.const 9)) (i32.const -22))
    (call $check (i32.const 16) (call $write (local.get $fd) (i32.const 65535) (i32.const 8)) (i32.const -14))
    (call $check (i32.const 17) (call $write_value (local.get $fd) (i64.const -1)) (i32.const -22))
    (call $check (i32.const 18) (call $write (i32.const 42) (i32.const 64) (i32.const 8)) (i32.const -9))
    ;; full at 0xffff_ffff_ffff_fffe: a write of 1 would block: -EAGAIN
    (call $check (i32.const 19) (call $write_value (local.get $fd) (i64.const -2)) (i32.const 8))
    (call $check (i32.const 20) (call $write_value (local.get $fd) (i64.const 1)) (i32.const -11))
    (call $check (i32.const 21) (call $write_value (local.get $fd) (i64.const -1)) (i32.const -22))
    ;; poll on the full eventfd: POLLIN only
    (i32.store (i32.const 128) (local.get $fd))
    (i32.store16 (i32.const 132) (i32.const 5))
    (call $check (i32.const 22) (call $poll (i32.const 128) (i32.const 1) (i32.const 0)) (i32.const 1))
    (call $check (i32.const 23) (i32.load16_s (i32.const 134)) (i32.const 1))
    (call $check (i32.const 24) (call $read (local.get $fd) (i32.const 64) (i32.const 8)) (i32.const 8))

    ;; fcntl: unknown command -EINVAL, bad fd -EBADF
    (call $check (i32.const 25) (call $fcntl (local.get $fd) (i32.const 99) (i32.const 0)) (i32.const -22))
    (call $check (i32.const 26) (call $fcntl (i32.const 77) (i32.const 1) (i32.const 0)) (i32.const -9))

    ;; poll: bad pointer -EFAULT; an unknown fd POLLNVAL; a negative fd ignored
    (call $check (i32.const 27) (call $poll (i32.const 65532) (i32.const 1) (i32.const 0)) (i32.const -14))
    (i32.store (i32.const 128) (i32.const 55))
    (i32.store16 (i32.const 132) (i32.const 1))
    (i32.store (i32.const 136) (i32.const -1))
    (i32.store16 (i32.const 140) (i32.const 1))
    (i32.store16 (i32.const 142) (i32.const 0x7777))
    (call $check (i32.const 28) (call $poll (i32.const 128) (i32.const 2) (i32.const 0)) (i32.const 1))
    (call $check (i32.const 29) (i32.load16_s (i32.const 134)) (i32.const 0x20))
    (call $check (i32.const 30) (i32.load16_s (i32.const 142)) (i32.const 0))
    ;; poll with a timeout and nothing ready: 0 after the timeout
    (i32.store (i32.const 128) (local.get $fd))
    (call $check (i32.const 31) (call $poll (i32.const 128) (i32.const 1) (i32.const 20)) (i32.const 0))

    ;; preopen: unknown name -ENOENT, bad pointer -EFAULT
    (call $check (i32.const 32) (call $preopen (i32.const 320) (i32.const 15)) (i32.const -2))
    (call $check (i32.const 33) (call $preopen (i32.const 65530) (i32.const 15)) (i32.const -14))

    ;; dup and close of bad fds: -EBADF; dup takes the lowest free number
    (call $check (i32.const 34) (call $dup (i32.const 9)) (i32.const -9))
    (call $check (i32.const 35) (call $close (i32.const -3)) (i32.const -9))
    (call $check (i32.const 36) (call $dup (local.get $fd)) (i32.const 4))
    (call $check (i32.const 37) (call $dup (local.get $fd)) (i32.const 5))
    (call $check (i32.const 38) (call $close (i32.const 4)) (i32.const 0))
    (call $check (i32.const 39) (call $dup (i32.const 5)) (i32.const 4))

    ;; semaphore mode: reads of 1
    (local.set $sem (call $eventfd (i32.const 2) (i32.const 0x801)))
    (call $check (i32.const 40) (local.get $sem) (i32.const 6))
    (call $check (i32.const 41) (call $read (local.get $sem) (i32.const 64) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 42) (i32.wrap_i64 (i64.load (i32.const 64))) (i32.const 1))
    (call $check (i32.const 43) (call $read (local.get $sem) (i32.const 64) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 44) (call $read (local.get $sem) (i32.const 64) (i32.const 8)) (i32.const -11))

    (i32.store (i32.const 192) (i32.const 256))
    (i32.store (i32.const 196) (i32.const 19))
    (drop (call $fd_write (i32.const 1) (i32.const 192) (i32.const 1) (i32.const 200))))
)
