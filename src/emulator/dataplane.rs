//! Emulated data planes of the Azure AI services and Azure AI Search.

use super::{EmuRequest, EmuResponse, World};

pub fn handle(_world: &World, _req: &EmuRequest) -> EmuResponse {
    EmuResponse::raw_json(
        404,
        r#"{"error":{"code":"404","message": "Resource not found"}}"#,
    )
}
