//! `nwcap delete`: delete the capture resource and, with `--delete-files`, its blob (the
//! service leaves the file in storage).

use super::arm_common::{capture, client, credential, emit, emit_json, fail, http_options, output};
use crate::azure::blob_delete::{delete_blob, Deleted};
use crate::azure::display_url;
use crate::azure::packet_capture::PacketCaptures;
use crate::cli::{ArmOutput, DeleteArgs};
use crate::exit;

/// Deletes; with `--delete-files` reads `storagePath` first, since it is gone afterwards.
pub fn run(args: &DeleteArgs, verbose: u8) -> anyhow::Result<i32> {
    let t = &args.target;
    let id = capture(&t.capture, &t.arm)?;
    let arm = client(&t.arm, verbose)?;
    let pcs = PacketCaptures::new(&arm);
    let (file, file_result) = super::runtime()?.block_on(async {
        let path = if args.delete_files {
            pcs.get(&id)
                .await
                .map_err(fail)?
                .value
                .properties
                .parameters
                .storage_location
                .storage_path
        } else {
            None
        };
        pcs.delete(&id).await.map_err(fail)?;
        let Some(path) = path else {
            if args.delete_files {
                eprintln!(
                    "nwcap: packet capture '{}' had no storagePath (file on the VM only): nothing to delete in storage",
                    id.name
                );
            }
            return Ok::<_, anyhow::Error>((None, None));
        };
        let shown = url::Url::parse(&path)
            .map(|u| display_url(&u))
            .unwrap_or_else(|_| path.clone());
        // VMSS and continuous captures write several files whose names the service does
        // not document; deleting anything but the one named blob would be guessing.
        if !path.to_ascii_lowercase().ends_with(".cap") {
            eprintln!(
                "nwcap: storagePath {shown} is not a single .cap file; delete those files with your storage tools"
            );
            return Ok((Some(shown), None));
        }
        let cred = credential(t.arm.auth.into())?;
        let r = delete_blob(cred, &path, &http_options(&t.arm, verbose))
            .await
            .map_err(|e| {
                fail(e).context(format!(
                    "packet capture '{}' was deleted, but not its file {shown}",
                    id.name
                ))
            })?;
        Ok((Some(shown), Some(r)))
    })?;
    match output(&t.arm) {
        ArmOutput::Json => emit_json(&serde_json::json!({
            "id": id.path(),
            "name": id.name,
            "deleted": true,
            "file": file,
            "fileDeleted": file_result.map(|r| r == Deleted::Deleted),
        }))?,
        ArmOutput::Table => {
            let mut s = format!("Deleted packet capture '{}'.\n", id.name);
            match (&file, file_result) {
                (Some(f), Some(Deleted::Deleted)) => {
                    s.push_str(&format!("Deleted its file {f}.\n"))
                }
                (Some(f), Some(Deleted::NotThere)) => {
                    s.push_str(&format!("Its file {f} was already gone.\n"))
                }
                _ => {}
            }
            emit(&s)?
        }
    }
    Ok(exit::OK)
}
