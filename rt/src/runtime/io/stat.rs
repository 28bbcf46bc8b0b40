//! [`FileStat`]: a file's metadata as either driver gives it, for
//! [`fs::Metadata`](crate::fs::Metadata): io_uring's `statx` through a10's
//! `Metadata` ([`FileStat::from_a10`]), or `statx(2)` on the blocking pool of
//! the poll driver ([`FileStat::from_statx`]).

use std::time::{Duration, SystemTime};

/// A file's metadata; see the [module docs](self).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct FileStat {
    /// The file type (`S_IFMT` bits) and the permission bits (`0o777`).
    pub(crate) mode: u32,
    pub(crate) len: u64,
    pub(crate) block_size: u32,
    pub(crate) modified: SystemTime,
    pub(crate) accessed: SystemTime,
    /// The Unix epoch if the file system does not record it.
    pub(crate) created: SystemTime,
}

impl FileStat {
    /// From a10's metadata, which shows the mode only through its methods.
    pub(crate) fn from_a10(metadata: &a10::fs::Metadata) -> FileStat {
        let file_type = metadata.file_type();
        let kinds = [
            (file_type.is_dir(), libc::S_IFDIR),
            (file_type.is_file(), libc::S_IFREG),
            (file_type.is_symlink(), libc::S_IFLNK),
            (file_type.is_socket(), libc::S_IFSOCK),
            (file_type.is_block_device(), libc::S_IFBLK),
            (file_type.is_character_device(), libc::S_IFCHR),
            (file_type.is_named_pipe(), libc::S_IFIFO),
        ];
        let permissions = metadata.permissions();
        let bits = [
            (permissions.owner_can_read(), libc::S_IRUSR),
            (permissions.owner_can_write(), libc::S_IWUSR),
            (permissions.owner_can_execute(), libc::S_IXUSR),
            (permissions.group_can_read(), libc::S_IRGRP),
            (permissions.group_can_write(), libc::S_IWGRP),
            (permissions.group_can_execute(), libc::S_IXGRP),
            (permissions.others_can_read(), libc::S_IROTH),
            (permissions.others_can_write(), libc::S_IWOTH),
            (permissions.others_can_execute(), libc::S_IXOTH),
        ];
        let mode = kinds
            .into_iter()
            .chain(bits)
            .filter(|(set, _)| *set)
            .fold(0, |mode, (_, bit)| mode | bit);
        FileStat {
            mode,
            len: metadata.len(),
            block_size: metadata.block_size(),
            modified: metadata.modified(),
            accessed: metadata.accessed(),
            created: metadata.created(),
        }
    }

    /// From what `statx(2)` filled in.
    pub(crate) fn from_statx(stat: &libc::statx) -> FileStat {
        let created = if stat.stx_mask & libc::STATX_BTIME != 0 {
            timestamp(&stat.stx_btime)
        } else {
            SystemTime::UNIX_EPOCH
        };
        FileStat {
            mode: u32::from(stat.stx_mode) & (libc::S_IFMT | 0o777),
            len: stat.stx_size,
            block_size: stat.stx_blksize,
            modified: timestamp(&stat.stx_mtime),
            accessed: timestamp(&stat.stx_atime),
            created,
        }
    }
}

/// A `statx` time as a `SystemTime` (before the epoch if negative).
fn timestamp(time: &libc::statx_timestamp) -> SystemTime {
    let since = Duration::new(time.tv_sec.unsigned_abs(), time.tv_nsec);
    if time.tv_sec < 0 {
        SystemTime::UNIX_EPOCH - since
    } else {
        SystemTime::UNIX_EPOCH + since
    }
}
