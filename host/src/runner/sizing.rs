//! What one instance of a guest takes from wasmtime's pooling allocator:
//! linear memories, tables and core instances, read from the guest's
//! binary before anything is compiled, so that the pool can be sized to the
//! run's guests (a Python component, say, may hold several memories).

use std::ops::AddAssign;

use wasmparser::{Encoding, Instance, Parser, Payload};

/// Slots one instance of a guest needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Needs {
    pub(super) memories: u32,
    pub(super) tables: u32,
    pub(super) core_instances: u32,
}

impl Needs {
    /// What a guest whose binary cannot be read is assumed to need (it
    /// will fail to load anyway): a WASI 0.2 component from Rust is a
    /// handful of core instances and tables around one memory.
    pub(super) const TYPICAL: Needs = Needs {
        memories: 1,
        tables: 8,
        core_instances: 16,
    };

    /// `count` instances' worth.
    pub(super) fn times(self, count: u32) -> Needs {
        Needs {
            memories: self.memories.saturating_mul(count),
            tables: self.tables.saturating_mul(count),
            core_instances: self.core_instances.saturating_mul(count),
        }
    }

    /// The larger of each.
    pub(super) fn max(self, other: Needs) -> Needs {
        Needs {
            memories: self.memories.max(other.memories),
            tables: self.tables.max(other.tables),
            core_instances: self.core_instances.max(other.core_instances),
        }
    }
}

impl AddAssign for Needs {
    fn add_assign(&mut self, other: Needs) {
        self.memories = self.memories.saturating_add(other.memories);
        self.tables = self.tables.saturating_add(other.tables);
        self.core_instances = self.core_instances.saturating_add(other.core_instances);
    }
}

/// One module or component being read, innermost last.
enum Scope {
    Module(Needs),
    Component {
        /// The needs of the modules defined here, by module index.
        modules: Vec<Needs>,
        /// What instantiating this component takes.
        total: Needs,
    },
}

/// What one instance of the guest in `bytes` (binary WebAssembly) needs,
/// or `None` if it cannot be read. A core module needs its own memories
/// and tables; a component, those of every module it instantiates, once
/// per instantiation (nested components counted once each).
pub(super) fn needs(bytes: &[u8]) -> Option<Needs> {
    let mut stack: Vec<Scope> = Vec::new();
    for payload in Parser::new(0).parse_all(bytes) {
        match payload.ok()? {
            Payload::Version { encoding, .. } => stack.push(match encoding {
                Encoding::Module => Scope::Module(Needs {
                    core_instances: 1,
                    ..Needs::default()
                }),
                Encoding::Component => Scope::Component {
                    modules: Vec::new(),
                    total: Needs::default(),
                },
            }),
            Payload::MemorySection(memories) => {
                if let Some(Scope::Module(needs)) = stack.last_mut() {
                    needs.memories = needs.memories.saturating_add(memories.count());
                }
            }
            Payload::TableSection(tables) => {
                if let Some(Scope::Module(needs)) = stack.last_mut() {
                    needs.tables = needs.tables.saturating_add(tables.count());
                }
            }
            Payload::InstanceSection(instances) => {
                let Some(Scope::Component { modules, total }) = stack.last_mut() else {
                    continue;
                };
                for instance in instances {
                    if let Instance::Instantiate { module_index, .. } = instance.ok()? {
                        // A module index beyond those defined here is an
                        // imported or aliased module: assume the largest.
                        let module =
                            modules
                                .get(module_index as usize)
                                .copied()
                                .unwrap_or_else(|| {
                                    modules.iter().fold(Needs::default(), |a, &m| a.max(m))
                                });
                        *total += module;
                    }
                }
            }
            Payload::End(_) => {
                let (finished, is_module) = match stack.pop()? {
                    Scope::Module(needs) => (needs, true),
                    Scope::Component { total, .. } => (total, false),
                };
                match stack.last_mut() {
                    None => return Some(finished),
                    // A module joins the module index space, and counts
                    // when instantiated; a nested component is taken as
                    // instantiated once.
                    Some(Scope::Component { modules, .. }) if is_module => modules.push(finished),
                    Some(Scope::Component { total, .. }) => *total += finished,
                    Some(Scope::Module(_)) => return None,
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs_of(wat: &str) -> Option<Needs> {
        needs(&wat::parse_str(wat).expect("valid text"))
    }

    #[test]
    fn a_module_needs_its_own_memories_and_tables() {
        let needs = needs_of("(module (memory 1) (memory 2) (table 1 funcref))");
        assert_eq!(
            needs,
            Some(Needs {
                memories: 2,
                tables: 1,
                core_instances: 1
            })
        );
    }

    #[test]
    fn a_component_needs_each_instantiation_of_its_modules() {
        let needs = needs_of(
            r#"(component
                 (core module $two (memory 1) (memory 1))
                 (core module $table (table 1 funcref))
                 (core instance (instantiate $two))
                 (core instance (instantiate $two))
                 (core instance (instantiate $table))
                 (component (core module $inner (memory 1)) (core instance (instantiate $inner))))"#,
        );
        assert_eq!(
            needs,
            Some(Needs {
                memories: 5,
                tables: 1,
                core_instances: 4
            })
        );
    }

    #[test]
    fn bytes_that_are_not_webassembly_need_nothing_known() {
        assert_eq!(needs(b"not wasm"), None);
    }
}
