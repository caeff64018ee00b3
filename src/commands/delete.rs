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
        let location = if args.delete_files {
            Some(
                pcs.get(&id)
                    .await
                    .map_err(fail)?
                    .value
                    .properties
                    .parameters
                    .storage_location,
            )
        } else {
            None
        };
        pcs.delete(&id).await.map_err(fail)?;
        let Some(location) = location else {
            return Ok::<_, anyhow::Error>((None, None));
        };
        let path = location
            .storage_path
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let Some(path) = path.map(str::to_string) else {
            let on_vm = location
                .file_path
                .as_deref()
                .or(location.local_path.as_deref())
                .map(str::trim)
                .filter(|p| !p.is_empty());
            match on_vm {
                Some(p) => eprintln!(
                    "nwcap: the file of packet capture '{}' is on the VM at {p}, not in storage: nwcap cannot delete it (delete it on the VM)",
                    id.name
                ),
                None => eprintln!(
                    "nwcap: packet capture '{}' names no file (no storagePath, filePath or localPath): nothing to delete",
                    id.name
                ),
            }
            return Ok((None, None));
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
        ArmOutput::Tsv => emit(&format!(
            "{}\tdeleted\t{}\t{}\n",
            id.name,
            file.as_deref().unwrap_or("-"),
            match file_result {
                Some(Deleted::Deleted) => "deleted",
                Some(Deleted::NotThere) => "already-gone",
                None => "-",
            }
        ))?,
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
