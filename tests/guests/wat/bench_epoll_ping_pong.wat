;; Benchmark guest (core module) run through the `wasi-eventfd` binary: the
;; epoll ping-pong. Both halves are this module, on the shared eventfds
;; `ping` and `pong` (blocking, counter mode); each waits for its own
;; eventfd with the `wasi_eventfd` module's epoll_wait (one epoll fd, the
;; eventfd registered EPOLLIN), then reads it and writes the other's with
;; preview 1's fd_read / fd_write, as a Linux event loop does.
;;
;; - `bench_epoll_ping_pong.wat N` (the main guest, the ping half): N round
;;   trips of write(ping, 1), epoll_wait, read(pong); then writes 2 to
;;   `ping` (stop) and prints `elapsed_ns NS` for the N round trips.
;; - without arguments (a `--with` guest, the pong half): epoll_wait,
;;   read(ping); 2 ends it, anything else is answered by write(pong, 1).
;;
;; Exit codes: 10 bad argument, 11 write, 12 read, 13 stdout, 14 preopen,
;; 15 epoll_create1 or epoll_ctl, 16 epoll_wait.
(module
  (import "wasi_eventfd" "preopen" (func $preopen (param i32 i32) (result i32)))
  (import "wasi_eventfd" "epoll_create1" (func $epoll_create1 (param i32) (result i32)))
  (import "wasi_eventfd" "epoll_ctl" (func $epoll_ctl (param i32 i32 i32 i32) (result i32)))
  (import "wasi_eventfd" "epoll_wait" (func $epoll_wait (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: an iovec (the line); 16: bytes written or read; 32: the line's
  ;; prefix; 48: an iovec of the value written; 56: an iovec of the value
  ;; read; 64: the value read; 72: the value written; 80: the clock;
  ;; 96..128: the line (prefix, digits, newline); 128: argc; 132: argv
  ;; bytes; 160: "ping", 164: "pong"; 176: the struct epoll_event given to
  ;; epoll_ctl (EPOLLIN); 192: the one epoll_wait fills; 256: argv; 1024:
  ;; argv's strings.
  (memory (export "memory") 1)
  (data (i32.const 32) "elapsed_ns ")
  (data (i32.const 48) "\48\00\00\00\08\00\00\00")
  (data (i32.const 56) "\40\00\00\00\08\00\00\00")
  (data (i32.const 160) "pingpong")
  (data (i32.const 176) "\01\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 80)))
    (i64.load (i32.const 80)))
  ;; argv[1] as a decimal number, or -1 without arguments (the pong half);
  ;; exits 10 when it is not a number.
  (func $round_trips (result i64)
    (local $p i32) (local $c i32) (local $n i64)
    (drop (call $args_sizes_get (i32.const 128) (i32.const 132)))
    (if (i32.lt_u (i32.load (i32.const 128)) (i32.const 2))
      (then (return (i64.const -1))))
    (if (i32.or (i32.gt_u (i32.load (i32.const 128)) (i32.const 64))
                (i32.gt_u (i32.load (i32.const 132)) (i32.const 60000)))
      (then (call $proc_exit (i32.const 10))))
    (drop (call $args_get (i32.const 256) (i32.const 1024)))
    (local.set $p (i32.load (i32.const 260)))
    (block $end
      (loop $digit
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $end (i32.eqz (local.get $c)))
        (if (i32.gt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 9))
          (then (call $proc_exit (i32.const 10))))
        (local.set $n (i64.add (i64.mul (local.get $n) (i64.const 10))
                               (i64.extend_i32_u (i32.sub (local.get $c) (i32.const 48)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $digit)))
    (local.get $n))
  ;; Prints `elapsed_ns N` and a newline on stdout.
  (func $print (param $n i64)
    (local $p i32)
    (local.set $p (i32.const 127))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $digit
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i64.store8 (local.get $p) (i64.add (i64.const 48) (i64.rem_u (local.get $n) (i64.const 10))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $digit (i64.ne (local.get $n) (i64.const 0))))
    ;; One buffer, as preview 1's fd_write may write only the first of several.
    (local.set $p (i32.sub (local.get $p) (i32.const 11)))
    (memory.copy (local.get $p) (i32.const 32) (i32.const 11))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 128) (local.get $p)))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)) (i32.const 0))
      (then (call $proc_exit (i32.const 13)))))
  ;; A fresh fd of the shared eventfd named by the 4 bytes at $name.
  (func $open (param $name i32) (result i32)
    (local $fd i32)
    (local.set $fd (call $preopen (local.get $name) (i32.const 4)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 14))))
    (local.get $fd))
  ;; A new epoll fd watching $fd for EPOLLIN.
  (func $watch (param $fd i32) (result i32)
    (local $ep i32)
    (local.set $ep (call $epoll_create1 (i32.const 0)))
    (if (i32.lt_s (local.get $ep) (i32.const 0)) (then (call $proc_exit (i32.const 15))))
    ;; EPOLL_CTL_ADD
    (if (i32.ne (call $epoll_ctl (local.get $ep) (i32.const 1) (local.get $fd) (i32.const 176))
                (i32.const 0))
      (then (call $proc_exit (i32.const 15))))
    (local.get $ep))
  ;; Waits without a timeout until the one registered eventfd is readable.
  (func $wait (param $ep i32)
    (if (i32.ne (call $epoll_wait (local.get $ep) (i32.const 192) (i32.const 1) (i32.const -1))
                (i32.const 1))
      (then (call $proc_exit (i32.const 16)))))
  (func $write (param $fd i32) (param $value i64)
    (i64.store (i32.const 72) (local.get $value))
    (if (i32.or (i32.ne (call $fd_write (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 16))
                        (i32.const 0))
                (i32.ne (i32.load (i32.const 16)) (i32.const 8)))
      (then (call $proc_exit (i32.const 11)))))
  (func $read (param $fd i32) (result i64)
    (if (i32.or (i32.ne (call $fd_read (local.get $fd) (i32.const 56) (i32.const 1) (i32.const 16))
                        (i32.const 0))
                (i32.ne (i32.load (i32.const 16)) (i32.const 8)))
      (then (call $proc_exit (i32.const 12))))
    (i64.load (i32.const 64)))
  (func (export "_start")
    (local $n i64) (local $ping i32) (local $pong i32) (local $ep i32) (local $start i64)
    (local.set $n (call $round_trips))
    (local.set $ping (call $open (i32.const 160)))
    (local.set $pong (call $open (i32.const 164)))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then
        ;; The pong half.
        (local.set $ep (call $watch (local.get $ping)))
        (loop $answer
          (call $wait (local.get $ep))
          (if (i64.eq (call $read (local.get $ping)) (i64.const 2)) (then (return)))
          (call $write (local.get $pong) (i64.const 1))
          (br $answer))))
    ;; The ping half.
    (local.set $ep (call $watch (local.get $pong)))
    (local.set $start (call $now))
    (block $done
      (loop $round
        (br_if $done (i64.eqz (local.get $n)))
        (call $write (local.get $ping) (i64.const 1))
        (call $wait (local.get $ep))
        (drop (call $read (local.get $pong)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $round)))
    (call $print (i64.sub (call $now) (local.get $start)))
    (call $write (local.get $ping) (i64.const 2)))
)
