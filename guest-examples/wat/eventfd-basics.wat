;; An eventfd as an ordinary WASI preview 1 fd: created with the
;; `wasi_eventfd` module, then read, written, polled, inspected and closed
;; with `wasi_snapshot_preview1`'s own calls, the ones wasi-libc's read,
;; write, poll and fcntl make. Run it with
;;   wasi-eventfd run guest-examples/wat/eventfd-basics.wat
;; It prints `eventfd-basics: ok`, or exits with the number of the first
;; check that failed. (Preview 1's errno numbers: EAGAIN 6, EBADF 8.)
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_get" (func $fd_fdstat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $fd_fdstat_set_flags (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: the 8-byte value; 8: an iovec of it; 16: the size a call returns;
  ;; 64: a subscription (48 bytes); 128: an event (32); 192: an fdstat (24);
  ;; 256: an iovec of the message at 300.
  (data (i32.const 8) "\00\00\00\00\08\00\00\00")
  (data (i32.const 256) "\2c\01\00\00\13\00\00\00")
  (data (i32.const 300) "eventfd-basics: ok\n")

  ;; Exits with $n unless $got is $want.
  (func $check (param $n i32) (param $got i32) (param $want i32)
    (if (i32.ne (local.get $got) (local.get $want))
      (then (call $proc_exit (local.get $n)))))

  (func (export "_start")
    (local $fd i32) (local $dup i32)
    ;; eventfd(0, EFD_NONBLOCK): the lowest free number, after stdio
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x800)))
    (call $check (i32.const 1) (local.get $fd) (i32.const 3))
    ;; read(fd) of 0 from a non-blocking eventfd: EAGAIN
    (call $check (i32.const 2)
      (call $fd_read (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 16)) (i32.const 6))
    ;; write(fd, 5): 8 bytes
    (i64.store (i32.const 0) (i64.const 5))
    (call $check (i32.const 3)
      (call $fd_write (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 16)) (i32.const 0))
    (call $check (i32.const 4) (i32.load (i32.const 16)) (i32.const 8))
    ;; poll for reading: one event, for userdata 42, with no error
    (i64.store (i32.const 64) (i64.const 42))
    (i32.store8 (i32.const 72) (i32.const 1))
    (i32.store (i32.const 80) (local.get $fd))
    (call $check (i32.const 5)
      (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) (i32.const 16)) (i32.const 0))
    (call $check (i32.const 6) (i32.load (i32.const 16)) (i32.const 1))
    (call $check (i32.const 7) (i32.wrap_i64 (i64.load (i32.const 128))) (i32.const 42))
    (call $check (i32.const 8) (i32.load16_u (i32.const 136)) (i32.const 0))
    ;; read(fd): 5, and the counter is back at 0
    (i64.store (i32.const 0) (i64.const 0))
    (call $check (i32.const 9)
      (call $fd_read (local.get $fd) (i32.const 8) (i32.const 1) (i32.const 16)) (i32.const 0))
    (call $check (i32.const 10) (i32.wrap_i64 (i64.load (i32.const 0))) (i32.const 5))
    ;; fstat: no file type, O_NONBLOCK (preview 1's NONBLOCK flag, 4)
    (call $check (i32.const 11) (call $fd_fdstat_get (local.get $fd) (i32.const 192)) (i32.const 0))
    (call $check (i32.const 12) (i32.load8_u (i32.const 192)) (i32.const 0))
    (call $check (i32.const 13) (i32.load16_u (i32.const 194)) (i32.const 4))
    ;; dup: the next number, on the same description: clearing O_NONBLOCK
    ;; through it clears it for both
    (local.set $dup (call $dup (local.get $fd)))
    (call $check (i32.const 14) (local.get $dup) (i32.const 4))
    (call $check (i32.const 15) (call $fd_fdstat_set_flags (local.get $dup) (i32.const 0)) (i32.const 0))
    (drop (call $fd_fdstat_get (local.get $fd) (i32.const 192)))
    (call $check (i32.const 16) (i32.load16_u (i32.const 194)) (i32.const 0))
    ;; close, then EBADF
    (call $check (i32.const 17) (call $fd_close (local.get $fd)) (i32.const 0))
    (call $check (i32.const 18) (call $fd_close (local.get $fd)) (i32.const 8))
    ;; the freed number is the next one given out
    (call $check (i32.const 19) (call $eventfd (i32.const 0) (i32.const 0)) (i32.const 3))
    (call $check (i32.const 20) (call $fd_close (i32.const 3)) (i32.const 0))
    (call $check (i32.const 21) (call $fd_close (local.get $dup)) (i32.const 0))
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 16))))
)
