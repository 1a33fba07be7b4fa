//! Emulated Azure Resource Manager (management.azure.com).

use super::{EmuRequest, EmuResponse, World};

pub fn handle(_world: &World, _req: &EmuRequest) -> EmuResponse {
    EmuResponse::raw_json(
        404,
        r#"{"error":{"code":"NotImplemented","message":"not emulated yet"}}"#,
    )
}
