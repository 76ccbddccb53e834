-- selfupdate: the lease of a running stage (decision 0079). A stage renews lease_until every
-- third of SELFUPDATE_LEASE while it runs; a lease that ran out means its process died, whatever
-- its runner id says (another machine, a reused pid), and the patch becomes `interrupted`.
ALTER TABLE selfupdate_patches ADD COLUMN lease_until TEXT;
