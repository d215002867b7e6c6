-- Raw values no rule of channels.yaml / stages.yaml maps, with how many current records carry them.
CREATE OR REPLACE TABLE ops.unmapped_values AS
SELECT 'lead_source' AS kind, coalesce(lead_source, utm_source || ' / ' || utm_medium) AS raw_value,
       channel AS mapped_to, count(*) AS records
FROM staging.leads l
WHERE EXISTS (SELECT 1 FROM staging.channel_lookup c WHERE c.kind = 'lead' AND NOT c.mapped
              AND c.k1 IS NOT DISTINCT FROM l.lead_source AND c.k2 IS NOT DISTINCT FROM l.utm_source
              AND c.k3 IS NOT DISTINCT FROM l.utm_medium AND c.k4 IS NOT DISTINCT FROM l.utm_campaign)
GROUP BY ALL
UNION ALL
SELECT 'deal_source', deal_source, channel, count(*) FROM staging.deals d
WHERE channel_basis = 'deal_source'
  AND EXISTS (SELECT 1 FROM staging.channel_lookup c WHERE c.kind = 'deal' AND NOT c.mapped AND c.k1 = d.deal_source)
GROUP BY ALL
UNION ALL
SELECT 'spend_channel', raw_channel, channel, count(*) FROM staging.spend s
WHERE EXISTS (SELECT 1 FROM staging.channel_lookup c WHERE c.kind = 'spend' AND NOT c.mapped AND c.k1 = s.raw_channel)
GROUP BY ALL
UNION ALL
SELECT 'ga4_channel_group', default_channel_group, channel, sum(sessions) FROM staging.sessions s
WHERE EXISTS (SELECT 1 FROM staging.channel_lookup c WHERE c.kind = 'ga4_session' AND NOT c.mapped
              AND c.channel_group = s.default_channel_group)
GROUP BY ALL
UNION ALL
SELECT 'touch_source', CASE WHEN medium IS NULL THEN source ELSE coalesce(source, '') || ' / ' || medium END, channel, count(*) FROM staging.touchpoints t
WHERE EXISTS (SELECT 1 FROM staging.channel_lookup c WHERE c.kind = 'touch' AND NOT c.mapped
              AND c.k1 IS NOT DISTINCT FROM t.source AND c.k2 IS NOT DISTINCT FROM t.medium
              AND c.k3 IS NOT DISTINCT FROM t.campaign)
GROUP BY ALL
UNION ALL
SELECT 'deal_stage', stage, 'unknown', count(*) FROM staging.deals WHERE outcome = 'unknown' GROUP BY ALL
UNION ALL
SELECT 'lifecycle_stage', lifecycle_stage, 'lead', count(*) FROM staging.leads l
WHERE lifecycle_stage IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM staging.lifecycle_map m WHERE m.raw_value = l.lifecycle_stage AND m.mapped)
GROUP BY ALL
ORDER BY kind, records DESC;
COMMENT ON TABLE ops.unmapped_values IS 'Raw values that no rule maps: they are kept, in the fallback channel (or stage unknown / lead), and listed here so that a rule can be added.';
COMMENT ON COLUMN ops.unmapped_values.kind IS 'lead_source, deal_source, spend_channel, ga4_channel_group, touch_source (source / medium), deal_stage or lifecycle_stage.';
COMMENT ON COLUMN ops.unmapped_values.raw_value IS 'The value as exported.';
COMMENT ON COLUMN ops.unmapped_values.mapped_to IS 'Where its records went instead.';
COMMENT ON COLUMN ops.unmapped_values.records IS 'Current records carrying it (sessions for ga4_channel_group).';
