//! Tests' access to the scenarios bundled in `scenarios/`.

use crate::scenario::Scenario;

/// The bundled scenario `scenarios/{name}.yaml`, loaded.
pub(crate) fn scenario(name: &str) -> Scenario {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../scenarios/{name}.yaml"));
    crate::load(&path).unwrap()
}
