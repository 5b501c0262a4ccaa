-- The model version behind the prediction an SME corrected: the LS prediction's if known, else the
-- record's latest prediction, else the model version its task was linked with.
CREATE OR REPLACE FUNCTION nerloop_prediction_model_version(p_record_id bigint, p_prediction_id bigint)
RETURNS text LANGUAGE sql STABLE AS $$
    SELECT COALESCE(
        (SELECT model_version FROM record_versions
         WHERE record_id = p_record_id AND ls_prediction_id = p_prediction_id AND p_prediction_id IS NOT NULL
         ORDER BY version DESC LIMIT 1),
        (SELECT model_version FROM record_versions
         WHERE record_id = p_record_id AND source = 'prediction' ORDER BY version DESC LIMIT 1),
        (SELECT model_version FROM ls_task_links
         WHERE record_id = p_record_id AND model_version IS NOT NULL ORDER BY id DESC LIMIT 1))
$$;
