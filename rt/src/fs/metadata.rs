//! [`Metadata`]: what the file system knows of a file (its type, length,
//! permissions and times), from [`File::metadata`](crate::fs::File::metadata),
//! with [`FileType`] and [`Permissions`]. The same on both I/O drivers:
//! `statx(2)`, through io_uring or on the blocking pool.

use std::fmt;
use std::time::SystemTime;

use crate::runtime::io::stat::FileStat;

/// Metadata of a file: its type, length, permissions and times.
#[derive(Copy, Clone)]
pub struct Metadata {
    stat: FileStat,
}

impl Metadata {
    pub(crate) const fn new(stat: FileStat) -> Metadata {
        Metadata { stat }
    }

    /// The type of the file.
    pub const fn file_type(&self) -> FileType {
        FileType(self.stat.mode & libc::S_IFMT)
    }

    /// Whether this is a directory.
    pub const fn is_dir(&self) -> bool {
        self.file_type().is_dir()
    }

    /// Whether this is a regular file.
    pub const fn is_file(&self) -> bool {
        self.file_type().is_file()
    }

    /// Whether this is a symbolic link.
    pub const fn is_symlink(&self) -> bool {
        self.file_type().is_symlink()
    }

    /// The length of the file, in bytes.
    #[allow(clippy::len_without_is_empty, reason = "a file's length, as std's")]
    pub const fn len(&self) -> u64 {
        self.stat.len
    }

    /// The block size the file system prefers for I/O.
    pub const fn block_size(&self) -> u32 {
        self.stat.block_size
    }

    /// Who may read, write and execute the file.
    pub const fn permissions(&self) -> Permissions {
        Permissions(self.stat.mode & 0o777)
    }

    /// When the file was last modified.
    pub const fn modified(&self) -> SystemTime {
        self.stat.modified
    }

    /// When the file was last accessed (file systems mounted with
    /// `noatime` do not keep it up to date).
    pub const fn accessed(&self) -> SystemTime {
        self.stat.accessed
    }

    /// When the file was created: the Unix epoch if the file system does
    /// not record it.
    pub const fn created(&self) -> SystemTime {
        self.stat.created
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata")
            .field("file_type", &self.file_type())
            .field("len", &self.len())
            .field("block_size", &self.block_size())
            .field("permissions", &self.permissions())
            .field("modified", &self.modified())
            .field("accessed", &self.accessed())
            .field("created", &self.created())
            .finish()
    }
}

/// The type of a file, see [`Metadata::file_type`].
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct FileType(u32);

impl FileType {
    /// Whether this is a directory.
    pub const fn is_dir(&self) -> bool {
        self.0 == libc::S_IFDIR
    }

    /// Whether this is a regular file.
    pub const fn is_file(&self) -> bool {
        self.0 == libc::S_IFREG
    }

    /// Whether this is a symbolic link.
    pub const fn is_symlink(&self) -> bool {
        self.0 == libc::S_IFLNK
    }

    /// Whether this is a socket.
    pub const fn is_socket(&self) -> bool {
        self.0 == libc::S_IFSOCK
    }

    /// Whether this is a block device.
    pub const fn is_block_device(&self) -> bool {
        self.0 == libc::S_IFBLK
    }

    /// Whether this is a character device.
    pub const fn is_character_device(&self) -> bool {
        self.0 == libc::S_IFCHR
    }

    /// Whether this is a named pipe (FIFO).
    pub const fn is_named_pipe(&self) -> bool {
        self.0 == libc::S_IFIFO
    }

    /// The name `ls -l` shows the type with, and a readable one.
    const fn names(&self) -> (&'static str, &'static str) {
        match self.0 {
            libc::S_IFDIR => ("d", "directory"),
            libc::S_IFREG => ("-", "file"),
            libc::S_IFLNK => ("l", "symbolic link"),
            libc::S_IFSOCK => ("s", "socket"),
            libc::S_IFBLK => ("b", "block device"),
            libc::S_IFCHR => ("c", "character device"),
            libc::S_IFIFO => ("p", "named pipe"),
            _ => ("?", "unknown"),
        }
    }
}

impl fmt::Debug for FileType {
    /// `ls -l`'s letter (`d`, `-`, `l`, ...), or with `{:#?}` a word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (letter, word) = self.names();
        let name = if f.alternate() { word } else { letter };
        f.debug_tuple("FileType").field(&name).finish()
    }
}

/// Who may read, write and execute a file, see [`Metadata::permissions`].
#[derive(Copy, Clone, PartialEq, Eq)]
pub struct Permissions(u32);

impl Permissions {
    /// Whether the owner may read the file.
    pub const fn owner_can_read(&self) -> bool {
        self.0 & libc::S_IRUSR != 0
    }

    /// Whether the owner may write the file.
    pub const fn owner_can_write(&self) -> bool {
        self.0 & libc::S_IWUSR != 0
    }

    /// Whether the owner may execute the file.
    pub const fn owner_can_execute(&self) -> bool {
        self.0 & libc::S_IXUSR != 0
    }

    /// Whether the file's group may read it.
    pub const fn group_can_read(&self) -> bool {
        self.0 & libc::S_IRGRP != 0
    }

    /// Whether the file's group may write it.
    pub const fn group_can_write(&self) -> bool {
        self.0 & libc::S_IWGRP != 0
    }

    /// Whether the file's group may execute it.
    pub const fn group_can_execute(&self) -> bool {
        self.0 & libc::S_IXGRP != 0
    }

    /// Whether others may read the file.
    pub const fn others_can_read(&self) -> bool {
        self.0 & libc::S_IROTH != 0
    }

    /// Whether others may write the file.
    pub const fn others_can_write(&self) -> bool {
        self.0 & libc::S_IWOTH != 0
    }

    /// Whether others may execute the file.
    pub const fn others_can_execute(&self) -> bool {
        self.0 & libc::S_IXOTH != 0
    }

    /// The permission bits, as `chmod` takes them (`0o644`, say).
    pub const fn mode(&self) -> u32 {
        self.0
    }
}

impl fmt::Debug for Permissions {
    /// As `ls -l` shows them: `rw-r--r--`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = [b'-'; 9];
        for (i, letter) in b"rwxrwxrwx".iter().enumerate() {
            if self.0 & (0o400 >> i) != 0 {
                shown[i] = *letter;
            }
        }
        let shown = std::str::from_utf8(&shown).unwrap_or("?");
        f.debug_tuple("Permissions").field(&shown).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::Metadata;
    use crate::runtime::io::stat::FileStat;

    #[test]
    fn type_and_permissions_come_from_the_mode() {
        let metadata = Metadata::new(FileStat {
            mode: libc::S_IFREG | 0o640,
            len: 12,
            block_size: 4096,
            modified: SystemTime::UNIX_EPOCH,
            accessed: SystemTime::UNIX_EPOCH,
            created: SystemTime::UNIX_EPOCH,
        });
        assert!(metadata.is_file() && !metadata.is_dir() && !metadata.is_symlink());
        let permissions = metadata.permissions();
        assert!(permissions.owner_can_read() && permissions.owner_can_write());
        assert!(!permissions.owner_can_execute() && permissions.group_can_read());
        assert!(!permissions.group_can_write() && !permissions.others_can_read());
        assert_eq!(permissions.mode(), 0o640);
        assert_eq!(format!("{permissions:?}"), "Permissions(\"rw-r-----\")");
        assert_eq!(format!("{:?}", metadata.file_type()), "FileType(\"-\")");
        assert_eq!(
            format!("{:#?}", metadata.file_type()).replace(['\n', ' ', ','], ""),
            "FileType(\"file\")"
        );
        assert_eq!(metadata.len(), 12);
    }
}
