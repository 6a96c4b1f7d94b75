;; Benchmark guest (core module): `bench_file_write.wat N` creates (or
;; truncates) `bench_file_write.out` in its first preopened directory (fd 3),
;; times N preview 1 `fd_write`s of 8 bytes to it, at the file's offset, and
;; prints `elapsed_ns NS` on stdout. The same module runs on the one fd table
;; (`wasi-eventfd`) and on wasmtime-wasi's preview 1 alone: it imports
;; nothing else.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  ;; 0: an iovec (the line); 16: bytes written; 20: the opened fd; 32: the
  ;; line's prefix; 48: an iovec of the 8 bytes at 72; 80: the clock;
  ;; 96..128: the line (prefix, digits, newline); 128: argc; 132: argv
  ;; bytes; 160: the file's name; 256: argv; 1024: argv's strings.
  (memory (export "memory") 1)
  (data (i32.const 32) "elapsed_ns ")
  (data (i32.const 48) "\48\00\00\00\08\00\00\00")
  (data (i32.const 72) "12345678")
  (data (i32.const 160) "bench_file_write.out")
  (func $now (result i64)
    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 80)))
    (i64.load (i32.const 80)))
  ;; argv[1] as a decimal number; exits 10 when missing or not a number.
  (func $count (result i64)
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
    (local.set $n (call $count))
    ;; open("bench_file_write.out", O_WRONLY | O_CREAT | O_TRUNC) in fd 3:
    ;; oflags CREAT (1) | TRUNC (8), rights FD_WRITE (1 << 6)
    (if (i32.ne (call $path_open (i32.const 3) (i32.const 0) (i32.const 160) (i32.const 20)
                  (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20))
                (i32.const 0))
      (then (call $proc_exit (i32.const 11))))
    (local.set $fd (i32.load (i32.const 20)))
    (local.set $start (call $now))
    (block $done
      (loop $write
        (br_if $done (i64.eqz (local.get $n)))
        (if (i32.or (i32.ne (call $fd_write (local.get $fd) (i32.const 48) (i32.const 1) (i32.const 16))
                            (i32.const 0))
                    (i32.ne (i32.load (i32.const 16)) (i32.const 8)))
          (then (call $proc_exit (i32.const 12))))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $write)))
    (local.set $start (i64.sub (call $now) (local.get $start)))
    (if (i32.ne (call $fd_close (local.get $fd)) (i32.const 0))
      (then (call $proc_exit (i32.const 13))))
    (call $print (local.get $start)))
)
