#!/bin/sh
# The command of every Heroku process type (deployment/Procfile): maps the add-ons' config
# vars onto the shop's variables, then replaces itself with the node or the migration.
#
#   sh deployment/heroku-run.sh api|users|products|orders|mail|storage   a node with SERVICES=<role>
#   sh deployment/heroku-run.sh migrate                              the release phase
#
# Anything set explicitly as a config var wins over the add-on's value.
set -eu
role="${1:?usage: sh deployment/heroku-run.sh <role>|migrate}"

# Heroku Postgres accepts TLS connections only, with a certificate no public CA signed:
# sslmode=require encrypts without verifying (integrations/database/sequelize.ts). The add-on owns DATABASE_URL
# (its credentials rotate), so the parameter is added here rather than in the config var.
case "${DATABASE_URL:-}" in
  "" | *sslmode=*) ;;
  *\?*) DATABASE_URL="${DATABASE_URL}&sslmode=require" ;;
  *) DATABASE_URL="${DATABASE_URL}?sslmode=require" ;;
esac
export DATABASE_URL

# CloudAMQP (amqps://) is the transporter unless TRANSPORTER is set.
if [ -z "${TRANSPORTER:-}" ] && [ -n "${CLOUDAMQP_URL:-}" ]; then
  TRANSPORTER="$CLOUDAMQP_URL"
  export TRANSPORTER
fi

# Bucketeer (an S3 bucket add-on) for the storage service, unless S3_* / AWS_* are set.
if [ -n "${BUCKETEER_BUCKET_NAME:-}" ]; then
  : "${S3_BUCKET:=$BUCKETEER_BUCKET_NAME}" "${S3_REGION:=${BUCKETEER_AWS_REGION:-us-east-1}}"
  : "${AWS_ACCESS_KEY_ID:=${BUCKETEER_AWS_ACCESS_KEY_ID:-}}" "${AWS_SECRET_ACCESS_KEY:=${BUCKETEER_AWS_SECRET_ACCESS_KEY:-}}"
  export S3_BUCKET S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
fi

if [ "$role" = migrate ]; then
  exec node scripts/migrate.ts
fi
SERVICES="$role"
export SERVICES
exec node server.ts
