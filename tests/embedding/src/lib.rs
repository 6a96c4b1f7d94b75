//! A host as an embedder writes it: store data holding WASI and eventfd
//! contexts on one resource table, linked synchronously or asynchronously.
//! Its tests (`tests/embed.rs`) run a guest that another party wakes.

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use wasi_eventfd::{EventfdCtx, EventfdCtxView, EventfdView};

/// One guest's store data.
pub struct Host {
    pub wasi: WasiCtx,
    pub eventfd: EventfdCtx,
    pub table: ResourceTable,
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl EventfdView for Host {
    fn eventfd(&mut self) -> EventfdCtxView<'_> {
        EventfdCtxView {
            ctx: &mut self.eventfd,
            table: &mut self.table,
        }
    }
}
