;; Benchmark guest (core module) run through the `wasi-eventfd` binary:
;; `bench_pair_p1.wat N` times N non-blocking write(1) + read() pairs on an
;; eventfd through preview 1's own `fd_write` and `fd_read` (the eventfd an
;; ordinary fd of the one table, as wasi-libc's write and read use it) and
;; prints `elapsed_ns NS` on stdout. bench_pair.wat is the same loop for
;; the in-process runner (N from and the time into eventfds).
(module
  (import "wasi_eventfd" "eventfd" (func $eventfd (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: an iovec (the line); 16: bytes written or read; 32: the line's
  ;; prefix; 48: an iovec of the value written; 56: an iovec of the value
  ;; read; 64: the value read; 72: the value written; 80: the clock;
  ;; 96..128: the line (prefix, digits, newline); 128: argc; 132: argv
  ;; bytes; 256: argv; 1024: argv's strings.
  (memory (export "memory") 1)
  (data (i32.const 32) "elapsed_ns ")
  (data (i32.const 48) "\48\00\00\00\08\00\00\00")
  (data (i32.const 56) "\40\00\00\00\08\00\00\00")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 80)))
    (i64.load (i32.const 80)))
  ;; argv[1] as a decimal number; exits 10 when missing or not a number.
  (func $pairs (result i64)
    (local $p i32) (local $c i32) (local $n i64)
    (drop (call $args_sizes_get (i32.const 128) (i32.const 132)))
    (if (i32.or (i32.lt_u (i32.load (i32.const 128)) (i32.const 2))
                (i32.or (i32.gt_u (i32.load (i32.const 128)) (i32.const 64))
                        (i32.gt_u (i32.load (i32.const 132)) (i32.const 60000))))
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
    ;; The prefix goes right before the digits: one buffer, as preview 1's
    ;; fd_write may write only the first of several.
    (local.set $p (i32.sub (local.get $p) (i32.const 11)))
    (memory.copy (local.get $p) (i32.const 32) (i32.const 11))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 128) (local.get $p)))
    (if (i32.ne (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)) (i32.const 0))
      (then (call $proc_exit (i32.const 13)))))
  (func (export "_start")
    (local $fd i32) (local $n i64) (local $start i64)
    (local.set $n (call $pairs))
    ;; eventfd(0, EFD_NONBLOCK)
    (local.set $fd (call $eventfd (i32.const 0) (i32.const 0x800)))
    (if (i32.lt_s (local.get $fd) (i32.const 0)) (then (call $proc_exit (i32.const 14))))
    (i64.store (i32.const 72) (i64.const 1))
    (local.set $start (call $now))
    (block $done
      (loop $pair
        (br_if $done (i64.eqz (local.get $n)))
        (if (i32.or (i32.ne (call $fd_write (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 16))
                            (i32.const 0))
                    (i32.ne (i32.load (i32.const 16)) (i32.const 8)))
          (then (call $proc_exit (i32.const 11))))
        (if (i32.or (i32.ne (call $fd_read (local.get $fd) (i32.const 56) (i32.const 1) (i32.const 16))
                            (i32.const 0))
                    (i64.ne (i64.load (i32.const 64)) (i64.const 1)))
          (then (call $proc_exit (i32.const 12))))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $pair)))
    (call $print (i64.sub (call $now) (local.get $start))))
)
