#!/usr/bin/env bash
# Restores a backup made by deploy/backup.sh into an empty database and an empty media folder.
#   DATABASE_URL=postgres://…/new_db MEDIA_ROOT=/data/media deploy/restore.sh BACKUP_FOLDER
# Then: manage.py migrate --check and manage.py verify_audit_chain (deploy/README.md, "Backups").
set -euo pipefail

backup=${1:?usage: restore.sh BACKUP_FOLDER (with DATABASE_URL and MEDIA_ROOT set)}
: "${DATABASE_URL:?set DATABASE_URL to the empty database to restore into}"
: "${MEDIA_ROOT:?set MEDIA_ROOT to the empty media folder to restore into}"

(cd "$backup" && sha256sum --check --quiet SHA256SUMS)

# Restoring over existing tables would mix two histories of the records: refuse.
tables=$(psql --no-psqlrc --tuples-only --no-align --dbname="$DATABASE_URL" \
  --command="SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
if [ "$tables" != 0 ]; then
  echo "restore.sh: the database already has $tables tables; restore into a new, empty one" >&2
  exit 1
fi
mkdir -p "$MEDIA_ROOT"
if [ -n "$(ls -A "$MEDIA_ROOT")" ]; then
  echo "restore.sh: MEDIA_ROOT $MEDIA_ROOT is not empty" >&2
  exit 1
fi

# One transaction: a restore that fails half-way leaves the database empty, not half-filled.
# Objects belong to the user of DATABASE_URL, whatever role owned them where the backup was made.
pg_restore --exit-on-error --single-transaction --no-owner --no-privileges \
  --dbname="$DATABASE_URL" "$backup/database.dump"
tar --extract --gzip --file="$backup/media.tar.gz" --directory="$MEDIA_ROOT"

echo "restored $backup"
