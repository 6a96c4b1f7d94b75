;; The wasi_eventfd module's epoll functions at the byte level: the layout
;; of struct epoll_event on wasm32 (events at 0, data at 8, 16 bytes), bad
;; pointers (EFAULT), errors in the kernel's order, stdio watched, and the registrations'
;; bound. Run with --max-descriptors 8 (the budget of registrations is the
;; descriptor limit). A wrong result exits with the number of the check.
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_eventfd" "epoll_create1" (func $create (param i32) (result i32)))
  (import "wasi_eventfd" "epoll_ctl" (func $ctl (param i32 i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "epoll_wait" (func $wait (param i32 i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "fcntl" (func $fcntl (param i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "dup" (func $dup (param i32) (result i32)))
  (import "wasi_eventfd" "close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)

  (data (i32.const 512) "epoll_abi: ok\n")

  (func $check (param $step i32) (param $actual i32) (param $expected i32)
    (if (i32.ne (local.get $actual) (local.get $expected))
      (then (call $proc_exit (local.get $step)))))

  ;; epoll_ctl(ep, EPOLL_CTL_ADD, fd, {EPOLLIN, data}) with the event at 0.
  (func $add (param $ep i32) (param $fd i32) (param $data i64) (result i32)
    (i32.store (i32.const 0) (i32.const 1))
    (i64.store (i32.const 8) (local.get $data))
    (call $ctl (local.get $ep) (i32.const 1) (local.get $fd) (i32.const 0)))

  (func (export "_start")
    (local $e i32) (local $ep i32) (local $a i32) (local $b i32) (local $c i32)
    ;; flags: only EPOLL_CLOEXEC (Linux's O_CLOEXEC, 0o2000000)
    (call $check (i32.const 1) (call $create (i32.const 1)) (i32.const -22))
    (local.set $ep (call $create (i32.const 0x80000)))
    (call $check (i32.const 2) (local.get $ep) (i32.const 3))
    (local.set $e (call $eventfd (i32.const 1) (i32.const 0)))
    (call $check (i32.const 3) (local.get $e) (i32.const 4))
    ;; LTP epoll_create1_01: EPOLL_CLOEXEC sets FD_CLOEXEC on the number
    ;; (F_GETFD 1), a dup has it clear, and flags 0 leave it clear
    (call $check (i32.const 40) (call $fcntl (local.get $ep) (i32.const 1) (i32.const 0)) (i32.const 1))
    (local.set $a (call $dup (local.get $ep)))
    (call $check (i32.const 41) (call $fcntl (local.get $a) (i32.const 1) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 42) (call $close (local.get $a)) (i32.const 0))
    (local.set $a (call $create (i32.const 0)))
    (call $check (i32.const 43) (call $fcntl (local.get $a) (i32.const 1) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 44) (call $close (local.get $a)) (i32.const 0))

    ;; epoll_ctl: the event read first (EFAULT before EBADF), but not for DEL
    (call $check (i32.const 4)
      (call $ctl (local.get $ep) (i32.const 1) (local.get $e) (i32.const 65530)) (i32.const -14))
    (call $check (i32.const 5)
      (call $ctl (i32.const 99) (i32.const 1) (local.get $e) (i32.const -16)) (i32.const -14))
    (call $check (i32.const 6)
      (call $ctl (local.get $ep) (i32.const 2) (local.get $e) (i32.const -16)) (i32.const -2))
    (call $check (i32.const 7)
      (call $ctl (i32.const -1) (i32.const 2) (local.get $e) (i32.const 0)) (i32.const -9))
    ;; stdout can be watched: never readable, writable at once
    (call $check (i32.const 8) (call $add (local.get $ep) (i32.const 1) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 32)
      (call $wait (local.get $ep) (i32.const 32) (i32.const 1) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 37)
      (call $wait (local.get $ep) (i32.const 32) (i32.const 1) (i32.const 10)) (i32.const 0))
    (i32.store (i32.const 0) (i32.const 4))
    (i64.store (i32.const 8) (i64.const 9))
    (call $check (i32.const 33)
      (call $ctl (local.get $ep) (i32.const 3) (i32.const 1) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 34)
      (call $wait (local.get $ep) (i32.const 32) (i32.const 1) (i32.const -1)) (i32.const 1))
    (call $check (i32.const 35) (i32.load (i32.const 32)) (i32.const 4))
    (call $check (i32.const 36) (i32.wrap_i64 (i64.load (i32.const 40))) (i32.const 9))
    (call $check (i32.const 31)
      (call $ctl (local.get $ep) (i32.const 2) (i32.const 1) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 9)
      (call $add (local.get $ep) (local.get $e) (i64.const 0x1122334455667788)) (i32.const 0))

    ;; epoll_wait: maxevents (EINVAL) before the buffer (EFAULT) before the
    ;; fd (EBADF, then EINVAL for a non-epoll)
    (call $check (i32.const 10)
      (call $wait (i32.const 99) (i32.const -16) (i32.const 0) (i32.const 0)) (i32.const -22))
    (call $check (i32.const 11)
      (call $wait (local.get $ep) (i32.const 32) (i32.const 0x7fffffff) (i32.const 0)) (i32.const -22))
    (call $check (i32.const 12)
      (call $wait (i32.const 99) (i32.const 65530) (i32.const 1) (i32.const 0)) (i32.const -14))
    (call $check (i32.const 13)
      (call $wait (i32.const 99) (i32.const 32) (i32.const 1) (i32.const 0)) (i32.const -9))
    (call $check (i32.const 14)
      (call $wait (local.get $e) (i32.const 32) (i32.const 1) (i32.const 0)) (i32.const -22))
    ;; 4096 events of 16 bytes end exactly at the end of memory
    (call $check (i32.const 15)
      (call $wait (local.get $ep) (i32.const 0) (i32.const 4096) (i32.const 0)) (i32.const 1))
    (call $check (i32.const 16)
      (call $wait (local.get $ep) (i32.const 16) (i32.const 4096) (i32.const 0)) (i32.const -14))
    ;; the event as stored: EPOLLIN at 32, the data at 40
    (i64.store (i32.const 40) (i64.const 0))
    (call $check (i32.const 17)
      (call $wait (local.get $ep) (i32.const 32) (i32.const 2) (i32.const -1)) (i32.const 1))
    (call $check (i32.const 18) (i32.load (i32.const 32)) (i32.const 1))
    (call $check (i32.const 19)
      (i64.eq (i64.load (i32.const 40)) (i64.const 0x1122334455667788)) (i32.const 1))

    ;; The budget: 8 registrations with --max-descriptors 8, whatever the
    ;; fd numbers. fds 5, 6, 7 are epolls; e is in all four (4), 3 in 5,
    ;; 5 in 6, 6 in 7 (7), 3 in 6 (8): the ninth is ENOSPC.
    (local.set $a (call $create (i32.const 0)))
    (local.set $b (call $create (i32.const 0)))
    (local.set $c (call $create (i32.const 0)))
    (call $check (i32.const 20) (local.get $c) (i32.const 7))
    (call $check (i32.const 21) (call $add (local.get $a) (local.get $e) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 22) (call $add (local.get $b) (local.get $e) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 23) (call $add (local.get $c) (local.get $e) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 24) (call $add (local.get $a) (local.get $ep) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 25) (call $add (local.get $b) (local.get $a) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 26) (call $add (local.get $c) (local.get $b) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 27) (call $add (local.get $b) (local.get $ep) (i64.const 0)) (i32.const 0))
    (call $check (i32.const 28) (call $add (local.get $c) (local.get $ep) (i64.const 0)) (i32.const -28))
    ;; DEL gives one back
    (call $check (i32.const 29)
      (call $ctl (local.get $b) (i32.const 2) (local.get $ep) (i32.const 0)) (i32.const 0))
    (call $check (i32.const 30) (call $add (local.get $c) (local.get $ep) (i64.const 0)) (i32.const 0))

    ;; "epoll_abi: ok\n" on stdout: iovec at 600
    (i32.store (i32.const 600) (i32.const 512))
    (i32.store (i32.const 604) (i32.const 14))
    (drop (call $fd_write (i32.const 1) (i32.const 600) (i32.const 1) (i32.const 608))))
)
