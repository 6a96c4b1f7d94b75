;; Traps at once (`unreachable`): the runner must exit 134, as `wasmtime
;; run` does on Unix for a trapping guest (the status of SIGABRT).
(module
  (memory (export "memory") 1)
  (func (export "_start")
    unreachable)
)
