#!/usr/bin/env bash
# A backup of ATMP Clinic: the database (pg_dump's custom format) and the media folder (the PDFs
# attached to and generated for the records), with their checksums, in a new folder under DEST.
#   DATABASE_URL=postgres://… MEDIA_ROOT=/data/media deploy/backup.sh DEST
# Prints the folder it wrote. Restore with deploy/restore.sh (deploy/README.md, "Backups").
set -euo pipefail

dest_root=${1:?usage: backup.sh DEST (with DATABASE_URL and MEDIA_ROOT set)}
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
: "${MEDIA_ROOT:?set MEDIA_ROOT to the media folder to back up}"
[ -d "$MEDIA_ROOT" ] || { echo "backup.sh: MEDIA_ROOT $MEDIA_ROOT is not a folder" >&2; exit 1; }

dest="$dest_root/atmp-clinic-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$dest_root"
mkdir "$dest"  # never into an earlier backup's folder

# The database first, then the files: a document uploaded in between is then a file without a row
# (harmless), never a row whose file is missing. pg_dump reads one consistent snapshot.
pg_dump --format=custom --compress=6 --dbname="$DATABASE_URL" --file="$dest/database.dump"
tar --create --gzip --file="$dest/media.tar.gz" --directory="$MEDIA_ROOT" .
(cd "$dest" && sha256sum database.dump media.tar.gz >SHA256SUMS)

echo "$dest"
