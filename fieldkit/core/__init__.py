"""The pure core: records, fields, ops, the fold, the clock, reference codes and the public
JSON/CSV form of records. Nothing here touches disk, radio, clock or network."""
