DROP TABLE shadow_decisions;
DROP TABLE campaign_shadows;
