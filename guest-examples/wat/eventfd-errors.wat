;; Every error path of an eventfd in a core module: the `wasi_eventfd`
;; module's (bad flags, unknown preopens, bad pointers, bad fds for dup,
;; close and fcntl, fcntl commands other than F_GETFD/F_SETFD) and
;; preview 1's calls on it (short and long buffers, bad fds, a
;; full counter, u64::MAX, poll's EBADF event for a bad fd, a poll that
;; times out). Run it with:
;;   wasi-eventfd run guest-examples/wat/eventfd-errors.wat
;; A wrong result exits with the number of the check that failed. The
;; `wasi_eventfd` module answers with -errno in Linux's numbers (EINVAL
;; 22, EFAULT 14, EBADF 9, ENOENT 2), preview 1 with its own errno (EINVAL
;; 28, EBADF 8, EAGAIN 6). A buffer outside memory stops the guest in
;; preview 1 (an error, as `wasmtime run` has it), consuming nothing:
;; `tests/integration/core_modules.rs` checks that with a guest of its own.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "close" (func $close (param i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_eventfd" "fcntl" (func $fcntl (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: an iovec; 8: the size a call returns; 64: the value (and 8 bytes
  ;; after it); 128: two subscriptions (48 bytes each); 256: two events
  ;; (32 each); 384: an fdstat (24); 416: an iovec of the message at 448.
  (data (i32.const 416) "\c0\01\00\00\13\00\00\00")
  (data (i32.const 448) "eventfd-errors: ok\n")
  (data (i32.const 480) "no-such-eventfd")

  (func $check (param $step i32) (param $actual i32) (param $expected i32)
    (if (i32.ne (local.get $actual) (local.get $expected))
      (then (call $proc_exit (local.get $step)))))

  ;; read(fd) into a buffer of $len bytes at 64: preview 1's errno.
  (func $read (param $fd i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_read (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))

  ;; write(fd) of $len bytes from 64: preview 1's errno.
  (func $write (param $fd i32) (param $len i32) (result i32)
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8)))

  (func $write_value (param $fd i32) (param $value i64) (result i32)
    (i64.store (i32.const 64) (local.get $value))
    (call $write (local.get $fd) (i32.const 8)))

  ;; Subscription $n (0 or 1): userdata $n, tag $tag (0 clock, 1 fd_read,
  ;; 2 fd_write), then $fd (or the clock id) and a relative timeout.
  (func $subscribe (param $n i32) (param $tag i32) (param $fd i32) (param $timeout i64)
    (local $at i32)
    (local.set $at (i32.add (i32.const 128) (i32.mul (local.get $n) (i32.const 48))))
    (i64.store (local.get $at) (i64.extend_i32_u (local.get $n)))
    (i32.store8 (i32.add (local.get $at) (i32.const 8)) (local.get $tag))
    (i32.store (i32.add (local.get $at) (i32.const 16)) (local.get $fd))
    (i64.store (i32.add (local.get $at) (i32.const 24)) (local.get $timeout))
    (i64.store (i32.add (local.get $at) (i32.const 32)) (i64.const 0))
    (i32.store16 (i32.add (local.get $at) (i32.const 40)) (i32.const 0)))

  (func (export "_start")
    (local $fd i32) (local $sem i32)
    ;; unknown flag bits: -EINVAL, and no fd is used up
    (call $check (i32.const 1) (call $eventfd (i32.const 0) (i32.const 2)) (i32.const -22))
    (call $check (i32.const 2) (call $eventfd (i32.const 0) (i32.const 0x40000000)) (i32.const -22))
    ;; EFD_NONBLOCK|EFD_CLOEXEC: fd 3 (after stdio), close-on-exec set
    ;; (F_GETFD), non-blocking (fstat's flags: preview 1's NONBLOCK, 4)
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x80800)))
    (call $check (i32.const 3) (local.get $fd) (i32.const 3))
    (call $check (i32.const 4) (call $fcntl (local.get $fd) (i32.const 1) (i32.const 0)) (i32.const 1))
    (call $check (i32.const 5) (call $fd_fdstat_get (local.get $fd) (i32.const 384)) (i32.const 0))
    (call $check (i32.const 6) (i32.load16_u (i32.const 386)) (i32.const 4))

    ;; read: short buffer EINVAL; bad fds EBADF
    (call $check (i32.const 7) (call $read (local.get $fd) (i32.const 7)) (i32.const 28))
    (call $check (i32.const 8) (call $read (i32.const 99) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 9) (call $read (i32.const -1) (i32.const 8)) (i32.const 8))
    (call $check (i32.const 10) (call $write_value (local.get $fd) (i64.const 3)) (i32.const 0))
    (call $check (i32.const 11) (i32.load (i32.const 8)) (i32.const 8))
    ;; a 16-byte buffer: 8 bytes read, the first 8 only
    (i64.store (i32.const 72) (i64.const 0x5a5a5a5a))
    (call $check (i32.const 12) (call $read (local.get $fd) (i32.const 16)) (i32.const 0))
    (call $check (i32.const 13) (i32.load (i32.const 8)) (i32.const 8))
    (call $check (i32.const 14) (i32.wrap_i64 (i64.load (i32.const 64))) (i32.const 3))
    (call $check (i32.const 15) (i32.wrap_i64 (i64.load (i32.const 72))) (i32.const 0x5a5a5a5a))

    ;; write: a length other than 8 EINVAL; u64::MAX EINVAL; a bad fd EBADF
    (call $check (i32.const 16) (call $write (local.get $fd) (i32.const 7)) (i32.const 28))
    (call $check (i32.const 17) (call $write (local.get $fd) (i32.const 9)) (i32.const 28))
    (call $check (i32.const 18) (call $write_value (local.get $fd) (i64.const -1)) (i32.const 28))
    (call $check (i32.const 19) (call $write_value (i32.const 42) (i64.const 1)) (i32.const 8))
    ;; full at 0xffff_ffff_ffff_fffe: a write of 1 would block: EAGAIN;
    ;; u64::MAX is EINVAL before that
    (call $check (i32.const 20) (call $write_value (local.get $fd) (i64.const -2)) (i32.const 0))
    (call $check (i32.const 21) (call $write_value (local.get $fd) (i64.const 1)) (i32.const 6))
    (call $check (i32.const 22) (call $write_value (local.get $fd) (i64.const -1)) (i32.const 28))
    ;; poll for reading and writing on the full eventfd: readable only
    (call $subscribe (i32.const 0) (i32.const 1) (local.get $fd) (i64.const 0))
    (call $subscribe (i32.const 1) (i32.const 2) (local.get $fd) (i64.const 0))
    (call $check (i32.const 23)
      (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 2) (i32.const 8)) (i32.const 0))
    (call $check (i32.const 24) (i32.load (i32.const 8)) (i32.const 1))
    (call $check (i32.const 25) (i32.wrap_i64 (i64.load (i32.const 256))) (i32.const 0))
    (call $check (i32.const 26) (i32.load8_u (i32.const 266)) (i32.const 1))
    (call $check (i32.const 27) (call $read (local.get $fd) (i32.const 8)) (i32.const 0))

    ;; fstat of a bad fd: EBADF
    (call $check (i32.const 28) (call $fd_fdstat_get (i32.const 77) (i32.const 384)) (i32.const 8))
    ;; fcntl: F_GETFL (3) is preview 1's fstat, an unknown command: -EINVAL;
    ;; a bad fd -EBADF
    (call $check (i32.const 29) (call $fcntl (local.get $fd) (i32.const 3) (i32.const 0)) (i32.const -22))
    (call $check (i32.const 30) (call $fcntl (local.get $fd) (i32.const 99) (i32.const 0)) (i32.const -22))
    (call $check (i32.const 31) (call $fcntl (i32.const 77) (i32.const 1) (i32.const 0)) (i32.const -9))

    ;; poll: an unknown fd is an event at once, with EBADF (POLLNVAL in
    ;; wasi-libc's poll)
    (call $subscribe (i32.const 0) (i32.const 1) (i32.const 55) (i64.const 0))
    (call $check (i32.const 32)
      (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 1) (i32.const 8)) (i32.const 0))
    (call $check (i32.const 33) (i32.load (i32.const 8)) (i32.const 1))
    (call $check (i32.const 34) (i32.load16_u (i32.const 264)) (i32.const 8))
    ;; a poll with a 20 ms clock and nothing ready: the clock's event alone
    (call $subscribe (i32.const 0) (i32.const 1) (local.get $fd) (i64.const 0))
    (call $subscribe (i32.const 1) (i32.const 0) (i32.const 1) (i64.const 20000000))
    (call $check (i32.const 35)
      (call $poll_oneoff (i32.const 128) (i32.const 256) (i32.const 2) (i32.const 8)) (i32.const 0))
    (call $check (i32.const 36) (i32.load (i32.const 8)) (i32.const 1))
    (call $check (i32.const 37) (i32.wrap_i64 (i64.load (i32.const 256))) (i32.const 1))

    ;; preopen: unknown name -ENOENT, bad pointer -EFAULT
    (call $check (i32.const 38) (call $preopen (i32.const 480) (i32.const 15)) (i32.const -2))
    (call $check (i32.const 39) (call $preopen (i32.const 65530) (i32.const 15)) (i32.const -14))

    ;; dup and close of bad fds: -EBADF; dup takes the lowest free number
    (call $check (i32.const 40) (call $dup (i32.const 9)) (i32.const -9))
    (call $check (i32.const 41) (call $close (i32.const -3)) (i32.const -9))
    (call $check (i32.const 42) (call $dup (local.get $fd)) (i32.const 4))
    (call $check (i32.const 43) (call $dup (local.get $fd)) (i32.const 5))
    (call $check (i32.const 44) (call $close (i32.const 4)) (i32.const 0))
    (call $check (i32.const 45) (call $dup (i32.const 5)) (i32.const 4))

    ;; semaphore mode: reads of 1
    (local.set $sem (call $eventfd (i32.const 2) (i32.const 0x801)))
    (call $check (i32.const 46) (local.get $sem) (i32.const 6))
    (call $check (i32.const 47) (call $read (local.get $sem) (i32.const 8)) (i32.const 0))
    (call $check (i32.const 48) (i32.wrap_i64 (i64.load (i32.const 64))) (i32.const 1))
    (call $check (i32.const 49) (call $read (local.get $sem) (i32.const 8)) (i32.const 0))
    (call $check (i32.const 50) (call $read (local.get $sem) (i32.const 8)) (i32.const 6))

    (drop (call $fd_write (i32.const 1) (i32.const 416) (i32.const 1) (i32.const 8))))
)
